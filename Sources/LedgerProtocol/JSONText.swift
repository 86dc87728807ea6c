import Foundation

/// JSON string quoting, shared by everything that prints JSON by hand.
///
/// What it writes is also safe to send to a terminal: control characters (C0, DEL and C1, such as
/// U+009B, which some terminals take for CSI), bidirectional overrides and isolates, and the line
/// separators are escaped, so that stored text can neither drive the terminal nor disguise itself.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where Self.isUnsafeForTerminals(c): Self.appendEscape(c, to: &result)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Scalars that must not reach a terminal as they are.
    public static func isUnsafeForTerminals(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F: true
        // Bidirectional embeddings, overrides and isolates, and the marks that steer them.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        case 0x2028, 0x2029: true
        default: false
        }
    }

    /// JSON text (metadata as stored) with every scalar unsafe for terminals written as a `\u` escape
    /// inside strings, the only place JSON allows them, and as a space between tokens, where only
    /// whitespace can be: the same JSON value, safe to print.
    public static func terminalSafe(json text: String) -> String {
        guard text.unicodeScalars.contains(where: { Self.isUnsafeForTerminals($0) }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        var inString = false
        var escaped = false
        for scalar in text.unicodeScalars {
            if Self.isUnsafeForTerminals(scalar) {
                if inString {
                    Self.appendEscape(scalar, to: &result)
                } else {
                    result += " "
                }
                escaped = false
                continue
            }
            if inString {
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" {
                    inString = false
                }
            } else if scalar == "\"" {
                inString = true
            }
            result.unicodeScalars.append(scalar)
        }
        return result
    }

    private static func appendEscape(_ scalar: Unicode.Scalar, to result: inout String) {
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
