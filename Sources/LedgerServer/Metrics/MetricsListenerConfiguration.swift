/// The HTTP listener for Prometheus scrapes: loopback unless an address is given.
public struct MetricsListenerConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Scrapes served at once; more wait in the backlog.
    public var maximumConnections = 16

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// Whether only this host can reach it.
    public var isLoopback: Bool {
        self.host == "localhost" || self.host == "::1" || self.host.hasPrefix("127.")
    }
}
