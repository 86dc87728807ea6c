import LedgerProtocol

/// Text from the ledger, or from whatever answered on the socket, made safe to print, as
/// journalctl does: a control or bidirectional character is shown as an escape, never sent raw.
enum TerminalText {
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: JSONText.isUnsafeForTerminals) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard JSONText.isUnsafeForTerminals(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            result += scalar.value < 0x100 ? "\\x" + (hex.count == 1 ? "0" : "") + hex : "\\u{" + hex + "}"
        }
        return result
    }
}
