import Foundation
import NIOCore
import NIOSSL

/// Whether the daemon's certificate is issued for the name the user typed (RFC 6125, SANs only).
///
/// NIOSSL also accepts an IP SAN matching the address a host name resolved to, so a certificate for
/// `IP:127.0.0.1` would pass for any name that resolves there; an operator who types a name expects
/// that name to be checked, and one who types an address expects the address to be.
enum ServerIdentity {
    /// nil when the certificate names `expected`; otherwise why not, listing the names it carries.
    static func problem(certificate: NIOSSLCertificate, expected: String) -> String? {
        var dnsNames: [String] = []
        var addresses: [[UInt8]] = []
        for name in certificate._subjectAlternativeNames() {
            let bytes = name.contents.withUnsafeBufferPointer { Array($0) }
            switch name.nameType {
            case .dnsName: dnsNames.append(String(decoding: bytes, as: UTF8.self))
            case .ipAddress: addresses.append(bytes)
            default: continue
            }
        }
        if let wanted = Self.addressBytes(expected) {
            if addresses.contains(wanted) { return nil }
        } else if dnsNames.contains(where: { Self.matches(pattern: $0, name: expected) }) {
            return nil
        }
        let carried = dnsNames.map { "DNS:\($0)" } + addresses.map { "IP:\(Self.text(address: $0))" }
        let listed = carried.isEmpty ? "no subject alternative names" : carried.joined(separator: ", ")
        return "the daemon's certificate is not issued for \(expected) (it names \(listed)); connect by one of those names, or give --server-name"
    }

    /// The address's bytes as a certificate holds them (4 or 16), or nil when `text` is a name.
    static func addressBytes(_ text: String) -> [UInt8]? {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        switch address {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket: return nil
        }
    }

    /// A DNS SAN against a name, case-insensitively; `*` may stand for the whole leftmost label only.
    static func matches(pattern: String, name: String) -> Bool {
        let pattern = Self.normalised(pattern)
        let name = Self.normalised(name)
        guard pattern.hasPrefix("*.") else { return pattern == name }
        guard let dot = name.firstIndex(of: "."), name.startIndex != dot else { return false }
        // "*.example.com" covers "a.example.com", never "example.com" nor "a.b.example.com".
        return name[dot...] == pattern.dropFirst() && pattern.dropFirst(2).contains(".")
    }

    private static func normalised(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    private static func text(address bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, bytes, &text, socklen_t(text.count)) != nil else { return bytes.map(String.init).joined(separator: ".") }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
