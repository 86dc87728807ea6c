import Foundation
import NIOCore
import NIOSSL

/// Turns BoringSSL's handshake errors into one line an operator can act on, for either side.
///
/// BoringSSL's own text carries an error number and the build path of the file that raised it;
/// only its reason code (`CERTIFICATE_VERIFY_FAILED`) means anything to a reader, so that is what
/// is kept, and the codes people meet are said in words.
public enum TLSFailure {
    /// Why a client's handshake failed, or nil when the error is not a TLS failure.
    public static func clientReason(_ error: any Error) -> String? {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "hostname mismatch: the daemon's certificate is not issued for this host"
        }
        guard let code = self.reasonCode(error) else { return nil }
        let known: KeyValuePairs<String, String> = [
            "CERTIFICATE_VERIFY_FAILED": "the daemon's certificate is not trusted by --ca (unknown CA, expired, or not yet valid)",
            "ALERT_CERTIFICATE_EXPIRED": "the daemon refused our certificate: it has expired",
            "ALERT_UNKNOWN_CA": "the daemon refused our certificate: it is not issued by a CA the daemon trusts",
            "ALERT_BAD_CERTIFICATE": "the daemon refused our certificate (is it a client certificate, issued by the CA the daemon trusts?)",
            "ALERT_UNSUPPORTED_CERTIFICATE": "the daemon refused our certificate: it is not made for a client (extended key usage)",
            "CERTIFICATE_REQUIRED": "the daemon requires a client certificate (--cert, --key)",
            "ALERT_HANDSHAKE_FAILURE": "the daemon refused the handshake (a client certificate is required)",
            "ALERT_PROTOCOL_VERSION": "no TLS version in common (TLS 1.2 or newer is required)",
            "WRONG_VERSION_NUMBER": "the port does not speak TLS",
            "UNEXPECTED_EOF": "the daemon closed the connection during the handshake",
        ]
        return self.reason(code, known)
    }

    /// Why a peer's handshake was refused by the daemon, or nil when the error is not a TLS failure.
    public static func serverReason(_ error: any Error) -> String? {
        guard let code = self.reasonCode(error) else { return nil }
        let known: KeyValuePairs<String, String> = [
            "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the peer sent no client certificate",
            "CERTIFICATE_VERIFY_FAILED": "the peer's certificate is not issued by --tls-client-ca for a client, or has expired",
            "WRONG_VERSION_NUMBER": "the peer does not speak TLS",
            "HTTP_REQUEST": "the peer spoke HTTP, not TLS",
            "UNSUPPORTED_PROTOCOL": "the peer offered only TLS versions older than 1.2",
            "NO_SHARED_CIPHER": "no cipher in common with the peer",
            "ALERT_UNKNOWN_CA": "the peer does not trust the daemon's certificate (its --ca is another CA)",
            "ALERT_BAD_CERTIFICATE": "the peer refused the daemon's certificate",
            "ALERT_CERTIFICATE_UNKNOWN": "the peer refused the daemon's certificate (is it issued for the name the peer connects to?)",
        ]
        return self.reason(code, known)
    }

    /// The first reason whose marker ends the code (`SSLV3_` and `TLSV1_` prefixes vary by version).
    private static func reason(_ code: String, _ known: KeyValuePairs<String, String>) -> String {
        known.first { code.hasSuffix($0.key) }?.value ?? self.words(code)
    }

    /// A peer that went away without a TLS close_notify, or reset the connection: ordinary, not a refusal.
    public static func isOrdinaryDisconnect(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLError, case .uncleanShutdown = error { return true }
        if let error = error as? ChannelError, error == .eof || error == .ioOnClosedChannel || error == .alreadyClosed { return true }
        if let error = error as? IOError { return [ECONNRESET, EPIPE, ETIMEDOUT].contains(error.errnoCode) }
        return false
    }

    /// BoringSSL's reason code in the error's text, such as `CERTIFICATE_VERIFY_FAILED`.
    static func reasonCode(_ error: any Error) -> String? {
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        let text = "\(error)"
        for marker in ["OPENSSL_internal:", "SSL routines:"] {
            guard let range = text.range(of: marker) else { continue }
            let code = text[range.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            if !code.isEmpty { return String(code) }
        }
        if let error = error as? NIOSSLError {
            switch error {
            case .uncleanShutdown: return "UNEXPECTED_EOF"
            default: return "\(error)".prefix { $0.isLetter }.uppercased()
            }
        }
        return "UNKNOWN_TLS_ERROR"
    }

    /// `SOME_REASON` as "TLS error: some reason".
    private static func words(_ code: String) -> String {
        "TLS error: " + code.lowercased().replacingOccurrences(of: "_", with: " ")
    }
}
