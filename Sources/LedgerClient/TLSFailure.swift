import NIOSSL

/// Turns BoringSSL's handshake errors into the reason an operator can act on.
enum TLSFailure {
    /// nil when the error is not a TLS failure.
    static func reason(_ error: any Error) -> String? {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "hostname mismatch: the daemon's certificate is not issued for this host"
        }
        // Alerts after a TLS 1.3 handshake (our certificate refused) arrive as BoringSSL errors, not NIOSSLError.
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        let text = "\(error)"
        let known: [(String, String)] = [
            ("CERTIFICATE_VERIFY_FAILED", "the daemon's certificate is not trusted by --ca (unknown CA, expired, or not yet valid)"),
            ("ALERT_CERTIFICATE_EXPIRED", "the daemon refused our certificate: it has expired"),
            ("ALERT_UNKNOWN_CA", "the daemon refused our certificate: it is not issued by a CA the daemon trusts"),
            ("ALERT_BAD_CERTIFICATE", "the daemon refused our certificate"),
            ("ALERT_CERTIFICATE_REQUIRED", "the daemon requires a client certificate (--cert, --key)"),
            ("ALERT_HANDSHAKE_FAILURE", "the daemon refused the handshake (a client certificate is required)"),
            ("ALERT_PROTOCOL_VERSION", "no TLS version in common (TLS 1.2 or newer is required)"),
            ("WRONG_VERSION_NUMBER", "the port does not speak TLS"),
        ]
        for (marker, reason) in known where text.contains(marker) {
            return reason
        }
        return "\(text)"
    }
}
