import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerStore
import Logging

/// What ledgerd was given on its command line, each option as typed (nil when absent).
///
/// Kept apart from parsing so that the resolution below, flag over environment over default, is
/// library code with tests of its own; `ledgerd` only fills this in and calls `LedgerDaemonSettings`.
public struct LedgerDaemonOptions: Sendable, Equatable {
    public var socket: String?
    public var store: String?
    public var socketMode: String?
    public var commitBatch: String?
    public var commitDelayMs: String?
    public var queueCapacity: String?
    public var queueBytes: String?
    public var tailBufferBytes: String?
    public var maxConnections: String?
    public var maxAnswerBytes: String?
    public var maxBatchEvents: String?
    public var queryTimeout: String?
    public var readers: String?
    public var maxQueryLimit: String?
    public var idleTimeout: String?
    public var frameDeadline: String?
    public var storeCheckInterval: String?
    public var maxFrameBytes: String?
    public var logLevel: String?
    public var allowUid: String?
    public var tlsListen: String?
    public var tlsCert: String?
    public var tlsKey: String?
    public var tlsClientCa: String?
    public var tlsMaxConnections: String?
    public var tlsHandshakeTimeout: String?
    public var tlsAllowWrites = false
    public var retain: String?
    public var retainInterval: String?
    public var metricsListen: String?
    public var config: String?
    public var signingKey: String?
    /// Listening sockets the service manager passed (`SocketActivation.sockets`): a Unix one is
    /// served instead of `--socket`, a TCP one instead of `--tls-listen`.
    public var activatedSockets: [ActivatedSocket] = []

    public init() {}
}

/// Everything ledgerd runs with, resolved from its options, its environment and the defaults: each
/// setting from its flag, else its `LEDGER_*` variable (an empty one counts as unset), else the default.
public struct LedgerDaemonSettings: Sendable {
    /// A value that does not parse, or options that do not go together, named on one line.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var configuration: LedgerServerConfiguration
    public var store: StoreLocation
    public var logLevel: Logger.Level
    /// The key that signs the log's tree heads; nil for the memory store, which keeps no tree.
    public var signingKey: SigningKeyFile?

    /// The defaults, as `--help` shows them: the same values the settings start from.
    public static let defaults = LedgerServerConfiguration(socketPath: "")
    /// The defaults that differ for the memory store.
    public static let memoryDefaults = LedgerServerConfiguration(socketPath: "", sizedFor: .memory(capacity: 1))

    /// The settings file (`--config`), if any, and the values it gave: what SIGHUP compares against.
    public var settingsFile: String?
    public var fileValues: [String: String] = [:]

    public init(options: LedgerDaemonOptions, environment: [String: String], userID: UInt32) throws(Error) {
        // A settings file's values stand above the environment's and below the flags.
        let file = options.config ?? environment["LEDGER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let fileValues = try file.map { (path: String) throws(Error) in try SettingsFile.read(path) } ?? [:]
        self.settingsFile = file
        self.fileValues = fileValues
        let source = Source(environment: environment.merging(fileValues) { $1 }, file: file.map { ($0, Set(fileValues.keys)) })
        self.logLevel = try source.value(
            options.logLevel, env: "LEDGER_LOG_LEVEL", default: Logger.Level.info,
            expected: "one of trace, debug, info, notice, warning, error, critical"
        ) { Logger.Level(rawValue: $0.lowercased()) }

        let socketPath = try source.value(
            options.socket, env: "LEDGER_SOCKET", default: LedgerDefaults.socketPath(environment: environment, userID: userID),
            expected: "a socket path"
        ) { $0.isEmpty ? nil : $0 }
        let defaultStore = LedgerDefaults.sqlitePath(environment: environment, userID: userID).map { "sqlite:" + $0 }
        let storeText: String? = try source.value(options.store, env: "LEDGER_STORE", default: defaultStore, expected: "a store URI") { $0 }
        guard let storeText else {
            throw Error(description: "no place for the ledger: HOME and XDG_DATA_HOME are unset; give --store (or LEDGER_STORE), or set one of them")
        }
        do {
            self.store = try StoreLocation(parsing: storeText)
        } catch {
            let origin =
                options.store != nil
                ? "--store \"\(storeText)\""
                : source.isDefault(nil, env: "LEDGER_STORE") ? "the default store \"\(storeText)\"" : source.describe("LEDGER_STORE", storeText)
            throw Error(description: "\(origin) is not valid: \(error.message)")
        }

        var configuration = LedgerServerConfiguration(socketPath: socketPath, sizedFor: self.store)
        // Only the default places are made; a path the user typed must already have its directory.
        configuration.createsSocketDirectory = source.isDefault(options.socket, env: "LEDGER_SOCKET")
        configuration.createsStoreDirectory = source.isDefault(options.store, env: "LEDGER_STORE")
        configuration.socketMode = try source.value(
            options.socketMode, env: "LEDGER_SOCKET_MODE", default: configuration.socketMode,
            expected: "octal permission bits from 0 to 0777, such as 0660"
        ) { UInt16($0, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil } }
        let activated = try Self.activated(options.activatedSockets)
        if let unix = activated.unix, case .unix(let path) = unix.address {
            // The socket unit owns the path and its mode; a flag saying otherwise is a mistake to name, not to ignore.
            guard source.isDefault(options.socket, env: "LEDGER_SOCKET") || socketPath == path else {
                throw Error(description: "socket activation passed \(unix), but \(source.origin(options.socket, env: "LEDGER_SOCKET")) is \(socketPath): leave it out, as the socket unit's ListenStream= sets the path")
            }
            guard source.isDefault(options.socketMode, env: "LEDGER_SOCKET_MODE") else {
                throw Error(description: "socket activation passed \(unix), whose mode the socket unit's SocketMode= sets: leave \(source.origin(options.socketMode, env: "LEDGER_SOCKET_MODE")) out")
            }
            configuration.socketPath = path
            configuration.activatedSocket = unix.descriptor
            configuration.createsSocketDirectory = false
        }
        self.signingKey = try Self.signingKey(
            options, source, store: self.store, createsStoreDirectory: configuration.createsStoreDirectory, environment: environment, userID: userID)
        configuration.commitBatchSize = try source.whole(
            options.commitBatch, env: "LEDGER_COMMIT_BATCH", default: configuration.commitBatchSize, in: 1...100_000)
        configuration.commitDelay = .milliseconds(
            try source.whole(
                options.commitDelayMs, env: "LEDGER_COMMIT_DELAY_MS", default: Int(configuration.commitDelay / .milliseconds(1)), in: 0...1_000,
                unit: "milliseconds"))
        configuration.ingestQueueCapacity = try source.whole(
            options.queueCapacity, env: "LEDGER_QUEUE_CAPACITY", default: configuration.ingestQueueCapacity, in: 1...10_000_000)
        configuration.maximumFrameLength = try source.bytes(
            options.maxFrameBytes, env: "LEDGER_MAX_FRAME_BYTES", default: configuration.maximumFrameLength, in: 1024...(64 << 20))
        configuration.maximumConnections = try source.whole(
            options.maxConnections, env: "LEDGER_MAX_CONNECTIONS", default: configuration.maximumConnections, in: 1...1_000_000)
        configuration.ingestQueueBytes = try source.bytes(
            options.queueBytes, env: "LEDGER_QUEUE_BYTES", default: configuration.ingestQueueBytes, in: (1 << 20)...(16 << 30),
            named: "1048576 (1 MiB) to 17179869184 (16 GiB)")
        configuration.tailBufferBytes = try source.bytes(
            options.tailBufferBytes, env: "LEDGER_TAIL_BUFFER_BYTES", default: configuration.tailBufferBytes, in: (64 << 10)...(1 << 30),
            named: "65536 (64 KiB) to 1073741824 (1 GiB)")
        configuration.pendingResponseBytesPerConnection = try source.bytes(
            options.maxAnswerBytes, env: "LEDGER_MAX_ANSWER_BYTES", default: configuration.pendingResponseBytesPerConnection,
            in: (64 << 10)...(1 << 30), named: "65536 (64 KiB) to 1073741824 (1 GiB)")
        configuration.readLimits.queryTimeout = try source.seconds(
            options.queryTimeout, env: "LEDGER_QUERY_TIMEOUT", default: configuration.readLimits.queryTimeout, in: 0...3_600, zero: "no limit")
        configuration.readLimits.readers = try source.whole(
            options.readers, env: "LEDGER_READERS", default: configuration.readLimits.readers, in: 1...64)
        configuration.maximumTLSConnections = try source.whole(
            options.tlsMaxConnections, env: "LEDGER_TLS_MAX_CONNECTIONS", default: configuration.maximumTLSConnections, in: 1...100_000)
        configuration.tlsHandshakeTimeout =
            try source.seconds(
                options.tlsHandshakeTimeout, env: "LEDGER_TLS_HANDSHAKE_TIMEOUT", default: configuration.tlsHandshakeTimeout, in: 1...600)
            ?? configuration.tlsHandshakeTimeout
        configuration.maximumBatchEvents = try source.whole(
            options.maxBatchEvents, env: "LEDGER_MAX_BATCH_EVENTS", default: configuration.maximumBatchEvents, in: 1...65_535)
        configuration.maximumQueryLimit = UInt32(
            try source.whole(options.maxQueryLimit, env: "LEDGER_MAX_QUERY_LIMIT", default: Int(configuration.maximumQueryLimit), in: 1...100_000))
        configuration.idleTimeout = try source.seconds(
            options.idleTimeout, env: "LEDGER_IDLE_TIMEOUT", default: configuration.idleTimeout, in: 0...604_800, zero: "never")
        configuration.frameDeadline = try source.seconds(
            options.frameDeadline, env: "LEDGER_FRAME_DEADLINE", default: configuration.frameDeadline, in: 0...3_600, zero: "off")
        configuration.storeCheckInterval =
            try source.seconds(
                options.storeCheckInterval, env: "LEDGER_STORE_CHECK_INTERVAL", default: configuration.storeCheckInterval, in: 1...3_600)
            ?? configuration.storeCheckInterval
        configuration.allowedUIDs = try source.value(
            options.allowUid, env: "LEDGER_ALLOW_UID", default: nil as Set<UInt32>?,
            expected: "numeric uids separated by commas, such as 0,1001 (user names are not looked up)"
        ) { (text: String) -> Set<UInt32>?? in
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let uids = parts.compactMap { UInt32($0) }
            guard uids.count == parts.count, !uids.isEmpty else { return .none }
            return .some(Set(uids))
        }
        configuration.tls = try Self.tls(options, source, activated: activated.tcp)
        configuration.metricsListen = try source.value(
            options.metricsListen, env: "LEDGER_METRICS_LISTEN", default: nil as MetricsListenerConfiguration?,
            expected: "PORT (on 127.0.0.1) or HOST:PORT, such as 9464 or 0.0.0.0:9464"
        ) { (text: String) -> MetricsListenerConfiguration?? in
            if let port = Int(text) { return (0...65_535).contains(port) ? .some(MetricsListenerConfiguration(port: port)) : .none }
            return Self.parseAddress(text).map { .some(MetricsListenerConfiguration(host: $0.host, port: $0.port)) } ?? .none
        }
        configuration.retention = try Self.retention(options.retain, source)
        configuration.retentionInterval =
            try source.seconds(
                options.retainInterval, env: "LEDGER_RETAIN_INTERVAL", default: configuration.retentionInterval, in: 1...604_800)
            ?? configuration.retentionInterval
        self.configuration = configuration
    }

    /// `--signing-key`, else `LEDGER_SIGNING_KEY`, else `ledger-signing.key` beside a SQLite store or in
    /// the default data directory, made on first start when it is the default.
    private static func signingKey(
        _ options: LedgerDaemonOptions, _ source: Source, store: StoreLocation, createsStoreDirectory: Bool, environment: [String: String],
        userID: UInt32
    ) throws(Error) -> SigningKeyFile? {
        if case .memory = store { return nil }
        let given = try source.value(options.signingKey, env: "LEDGER_SIGNING_KEY", default: nil as String?, expected: "a PEM file path") { $0 }
        if given == "off" { return nil }
        if let given { return SigningKeyFile(path: given, createsIfMissing: false) }
        let directory: String
        var createsDirectory = true
        switch store {
        case .sqlite(let path):
            let parent = (path as NSString).deletingLastPathComponent
            directory = parent.isEmpty ? "." : parent
            createsDirectory = createsStoreDirectory
        default:
            guard let data = LedgerDefaults.sqlitePath(environment: environment, userID: userID) else {
                throw Error(description: "no place for the signing key: HOME and XDG_DATA_HOME are unset; give --signing-key (or LEDGER_SIGNING_KEY)")
            }
            directory = (data as NSString).deletingLastPathComponent
        }
        return SigningKeyFile(path: "\(directory)/ledger-signing.key", createsIfMissing: true, createsDirectory: createsDirectory)
    }

    /// The TLS listener, when --tls-listen is given or socket activation passed a TCP socket; its
    /// three files are required together.
    private static func tls(_ options: LedgerDaemonOptions, _ source: Source, activated: ActivatedSocket?) throws(Error) -> TLSListenerConfiguration? {
        var address = try source.value(
            options.tlsListen, env: "LEDGER_TLS_LISTEN", default: nil as (host: String, port: Int)?,
            expected: "HOST:PORT, such as 127.0.0.1:7443 or [::1]:7443"
        ) { Self.parseAddress($0).map { Optional($0) } }
        if let activated, case .tcp(let bound) = activated.address {
            guard address == nil else {
                throw Error(description: "socket activation passed \(activated), and \(source.origin(options.tlsListen, env: "LEDGER_TLS_LISTEN")) asks for another listener: give one of them")
            }
            address = Self.parseAddress(bound)
        }
        let certificate = try source.value(options.tlsCert, env: "LEDGER_TLS_CERT", default: nil as String?, expected: "a PEM file path") { $0 }
        let key = try source.value(options.tlsKey, env: "LEDGER_TLS_KEY", default: nil as String?, expected: "a PEM file path") { $0 }
        let authority = try source.value(options.tlsClientCa, env: "LEDGER_TLS_CLIENT_CA", default: nil as String?, expected: "a PEM file path") { $0 }
        let allowWrites = try source.value(
            nil, env: "LEDGER_TLS_ALLOW_WRITES", default: false, expected: "1, true, yes or on; or 0, false, no or off"
        ) { Self.parseBoolean($0) }
        guard let address else {
            if certificate != nil || key != nil || authority != nil {
                throw Error(description: "--tls-cert, --tls-key and --tls-client-ca need --tls-listen HOST:PORT")
            }
            return nil
        }
        guard let certificate, let key, let authority else {
            let missing = [("--tls-cert", certificate), ("--tls-key", key), ("--tls-client-ca", authority)].filter { $0.1 == nil }.map(\.0)
            let listener = activated.map { "socket activation passed \($0), which" } ?? "--tls-listen"
            throw Error(description: "\(listener) needs \(missing.joined(separator: ", ")): there is no TLS without a certificate, nor without client certificates")
        }
        var tls = TLSListenerConfiguration(host: address.host, port: address.port, certificatePath: certificate, privateKeyPath: key, clientCAPath: authority)
        tls.activatedSocket = activated?.descriptor
        tls.allowWrites = options.tlsAllowWrites || allowWrites
        return tls
    }

    static func parseBoolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }

    /// At most one socket of each kind: which of two the daemon should serve is not for it to guess.
    private static func activated(_ sockets: [ActivatedSocket]) throws(Error) -> (unix: ActivatedSocket?, tcp: ActivatedSocket?) {
        var unix: ActivatedSocket?
        var tcp: ActivatedSocket?
        for socket in sockets {
            switch socket.address {
            case .unix:
                if let unix { throw Error(description: "socket activation passed two Unix sockets, \(unix) and \(socket); ledgerd serves one") }
                unix = socket
            case .tcp:
                if let tcp { throw Error(description: "socket activation passed two TCP sockets, \(tcp) and \(socket); ledgerd serves one TLS listener") }
                tcp = socket
            }
        }
        return (unix, tcp)
    }

    /// The retention policy; a bad one is named with the rule at fault and where the value came from.
    private static func retention(_ flag: String?, _ source: Source) throws(Error) -> RetentionPolicy {
        let origin: String
        let text: String
        if let flag {
            (origin, text) = ("--retain \"\(flag)\"", flag)
        } else if let value = source.environment["LEDGER_RETAIN"], !value.isEmpty {
            (origin, text) = (source.describe("LEDGER_RETAIN", value), value)
        } else {
            return .keepEverything
        }
        do throws(RetentionPolicy.Problem) {
            return try RetentionPolicy(parsing: text)
        } catch {
            throw Error(description: "\(origin) is not valid: rule \(error)")
        }
    }

    /// `127.0.0.1:7443`, `localhost:0`, `[::1]:7443`.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        return (host, port)
    }

    /// Where each value comes from, and the one line that names a bad one.
    struct Source {
        let environment: [String: String]
        /// The settings file and the names it set, so an error says where a bad value was written.
        var file: (path: String, names: Set<String>)?

        func describe(_ name: String, _ text: String) -> String {
            if let file, file.names.contains(name) { return "\(name)=\"\(text)\" in \(file.path)" }
            return "environment variable \(name)=\"\(text)\""
        }

        /// - Parameter expected: what a valid value looks like, for the error that names a bad one.
        func value<Value>(
            _ flag: String?, env name: String, default defaultValue: Value, expected: String, parse: (String) -> Value?
        ) throws(Error) -> Value {
            if let flag {
                guard let value = parse(flag) else {
                    throw Error(description: "--\(Self.flagName(forEnvironment: name)) \"\(flag)\" is not valid: expected \(expected)")
                }
                return value
            }
            if let text = self.environment[name], !text.isEmpty {
                guard let value = parse(text) else {
                    throw Error(description: "\(self.describe(name, text)) is not valid: expected \(expected)")
                }
                return value
            }
            return defaultValue
        }

        func whole(_ flag: String?, env name: String, default defaultValue: Int, in range: ClosedRange<Int>, unit: String? = nil) throws(Error) -> Int {
            let what = unit.map { "a whole number of \($0)" } ?? "a whole number"
            return try self.value(flag, env: name, default: defaultValue, expected: "\(what) from \(range.lowerBound) to \(range.upperBound)") {
                Int($0).flatMap { range.contains($0) ? $0 : nil }
            }
        }

        func bytes(_ flag: String?, env name: String, default defaultValue: Int, in range: ClosedRange<Int>, named: String? = nil) throws(Error) -> Int {
            try self.value(flag, env: name, default: defaultValue, expected: "a number of bytes from \(named ?? "\(range.lowerBound) to \(range.upperBound)")") {
                Int($0).flatMap { range.contains($0) ? $0 : nil }
            }
        }

        /// Whole seconds; with `zero` named, 0 means none (nil).
        func seconds(
            _ flag: String?, env name: String, default defaultValue: Duration?, in range: ClosedRange<Int>, zero: String? = nil
        ) throws(Error) -> Duration? {
            let low = zero.map { "\(range.lowerBound) (\($0))" } ?? "\(range.lowerBound)"
            let seconds = try self.value(
                flag, env: name, default: defaultValue.map { Int($0.components.seconds) } ?? 0,
                expected: "a whole number of seconds from \(low) to \(range.upperBound)"
            ) { Int($0).flatMap { range.contains($0) ? $0 : nil } }
            return seconds == 0 && zero != nil ? nil : .seconds(seconds)
        }

        /// Whether neither the flag nor its variable was given, so the default applies.
        func isDefault(_ flag: String?, env name: String) -> Bool {
            flag == nil && (self.environment[name]?.isEmpty ?? true)
        }

        /// Where a value that is not the default came from, for an error about it.
        func origin(_ flag: String?, env name: String) -> String {
            flag != nil ? "--\(Self.flagName(forEnvironment: name))" : name
        }

        static func flagName(forEnvironment name: String) -> String {
            name.dropFirst("LEDGER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
        }
    }
}
