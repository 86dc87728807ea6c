import CLibPQ

/// A libpq connection string (a `postgres://` URI or `key=value` pairs), checked
/// by libpq's own parser and printable without its password.
public struct PostgresConnectionInfo: Sendable, Hashable, CustomStringConvertible {
    /// The text as given, handed to libpq unchanged.
    public let conninfo: String
    /// The same connection with the password left out, for logs, stats and errors.
    public let description: String

    public init(_ conninfo: String) throws(StoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0).trimmingTrailingNewlines } ?? "out of memory"
            PQfreemem(errorMessage)
            // libpq's parse errors quote option names, never values, so the password cannot leak here.
            throw StoreError(code: .invalidConfiguration, message: "PostgreSQL connection string is not valid: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                values[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        self.conninfo = conninfo
        self.description = Self.redacted(values)
    }

    /// `postgres://user@host:port/dbname`, from the parsed options, never with the password.
    static func redacted(_ values: [String: String]) -> String {
        var text = "postgres://"
        if let user = values["user"], !user.isEmpty { text += "\(user)@" }
        let host = values["host"] ?? values["hostaddr"] ?? ""
        let socketDirectory = host.hasPrefix("/")
        if !socketDirectory { text += host }
        if let port = values["port"], !port.isEmpty, !socketDirectory { text += ":\(port)" }
        text += "/" + (values["dbname"] ?? "")
        if socketDirectory {
            text += "?host=\(host)"
            if let port = values["port"], !port.isEmpty { text += "&port=\(port)" }
        }
        return text
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
