import Foundation
import LedgerFiles
import LedgerStore
import Logging
import Testing

@testable import LedgerServer

/// Every ledgerd setting resolves flag first, then its LEDGER_* variable, then the default, and a
/// bad value is one line naming the flag or the variable it came from.
@Suite struct LedgerDaemonSettingsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var env: String
        var option: any WritableKeyPath<LedgerDaemonOptions, String?> & Sendable
        /// A valid value, another valid value, and one that is not valid (nil when none can be typed).
        var value: String
        var other: String
        var bad: String?
        /// The resolved setting, as text, so each case can say what it expects.
        var read: @Sendable (LedgerDaemonSettings) -> String
        var expected: @Sendable (String) -> String = { $0 }

        var testDescription: String { self.env }
    }

    static func seconds(_ duration: Duration?) -> String {
        duration.map { "\($0.components.seconds)" } ?? "none"
    }

    static let cases: [Case] = [
        Case(env: "LEDGER_SOCKET", option: \.socket, value: "/tmp/a.sock", other: "/tmp/b.sock", bad: nil) { $0.configuration.socketPath },
        Case(env: "LEDGER_STORE", option: \.store, value: "sqlite:/tmp/a.sqlite", other: "memory:5", bad: "nosuch:x") { "\($0.store)" },
        Case(env: "LEDGER_SOCKET_MODE", option: \.socketMode, value: "0600", other: "0640", bad: "0999", read: {
            "0" + String($0.configuration.socketMode, radix: 8)
        }),
        Case(env: "LEDGER_COMMIT_BATCH", option: \.commitBatch, value: "500", other: "700", bad: "0") { "\($0.configuration.commitBatchSize)" },
        Case(env: "LEDGER_COMMIT_DELAY_MS", option: \.commitDelayMs, value: "5", other: "7", bad: "5000") {
            "\(Int($0.configuration.commitDelay / .milliseconds(1)))"
        },
        Case(env: "LEDGER_QUEUE_CAPACITY", option: \.queueCapacity, value: "100", other: "200", bad: "0") { "\($0.configuration.ingestQueueCapacity)" },
        Case(env: "LEDGER_QUEUE_BYTES", option: \.queueBytes, value: "2097152", other: "4194304", bad: "1") { "\($0.configuration.ingestQueueBytes)" },
        Case(env: "LEDGER_TAIL_BUFFER_BYTES", option: \.tailBufferBytes, value: "131072", other: "262144", bad: "1") {
            "\($0.configuration.tailBufferBytes)"
        },
        Case(env: "LEDGER_MAX_CONNECTIONS", option: \.maxConnections, value: "10", other: "20", bad: "0") { "\($0.configuration.maximumConnections)" },
        Case(env: "LEDGER_MAX_ANSWER_BYTES", option: \.maxAnswerBytes, value: "131072", other: "262144", bad: "1") {
            "\($0.configuration.pendingResponseBytesPerConnection)"
        },
        Case(env: "LEDGER_MAX_BATCH_EVENTS", option: \.maxBatchEvents, value: "10", other: "20", bad: "70000") { "\($0.configuration.maximumBatchEvents)" },
        Case(env: "LEDGER_QUERY_TIMEOUT", option: \.queryTimeout, value: "7", other: "0", bad: "x", read: { Self.seconds($0.configuration.readLimits.queryTimeout) }) {
            $0 == "0" ? "none" : $0
        },
        Case(env: "LEDGER_READERS", option: \.readers, value: "3", other: "4", bad: "65") { "\($0.configuration.readLimits.readers)" },
        Case(env: "LEDGER_MAX_QUERY_LIMIT", option: \.maxQueryLimit, value: "10", other: "20", bad: "0") { "\($0.configuration.maximumQueryLimit)" },
        Case(env: "LEDGER_IDLE_TIMEOUT", option: \.idleTimeout, value: "30", other: "0", bad: "-1", read: { Self.seconds($0.configuration.idleTimeout) }) {
            $0 == "0" ? "none" : $0
        },
        Case(env: "LEDGER_FRAME_DEADLINE", option: \.frameDeadline, value: "3", other: "0", bad: "4000", read: { Self.seconds($0.configuration.frameDeadline) }) {
            $0 == "0" ? "none" : $0
        },
        Case(env: "LEDGER_STORE_CHECK_INTERVAL", option: \.storeCheckInterval, value: "2", other: "3", bad: "0") {
            Self.seconds($0.configuration.storeCheckInterval)
        },
        Case(env: "LEDGER_MAX_FRAME_BYTES", option: \.maxFrameBytes, value: "2048", other: "4096", bad: "10") { "\($0.configuration.maximumFrameLength)" },
        Case(env: "LEDGER_LOG_LEVEL", option: \.logLevel, value: "debug", other: "ERROR", bad: "loud", read: { $0.logLevel.rawValue }) { $0.lowercased() },
        Case(env: "LEDGER_ALLOW_UID", option: \.allowUid, value: "5, 6", other: "7", bad: "alice", read: {
            ($0.configuration.allowedUIDs ?? []).sorted().map(String.init).joined(separator: ",")
        }) { $0.replacingOccurrences(of: " ", with: "") },
        Case(env: "LEDGER_TLS_MAX_CONNECTIONS", option: \.tlsMaxConnections, value: "5", other: "6", bad: "0") {
            "\($0.configuration.maximumTLSConnections)"
        },
        Case(env: "LEDGER_TLS_HANDSHAKE_TIMEOUT", option: \.tlsHandshakeTimeout, value: "3", other: "4", bad: "0") {
            Self.seconds($0.configuration.tlsHandshakeTimeout)
        },
        Case(env: "LEDGER_RETAIN", option: \.retain, value: "INFO=30d", other: "WARN=1y,video_uploaded=2y", bad: "INFO=30d,WARN=6mo") {
            $0.configuration.retention.description
        },
        Case(env: "LEDGER_RETAIN_INTERVAL", option: \.retainInterval, value: "60", other: "120", bad: "0") {
            Self.seconds($0.configuration.retentionInterval)
        },
    ]

    /// The bad rule is named, not only the whole value.
    @Test func aBadRetentionRuleIsNamed() {
        var options = LedgerDaemonOptions()
        options.retain = "INFO=30d,WARN=6mo,ERROR=forever"
        #expect {
            try Self.settings(options)
        } throws: { error in
            "\(error)" == "--retain \"INFO=30d,WARN=6mo,ERROR=forever\" is not valid: rule 'WARN=6mo': unknown unit 'mo' in '6mo': use s, min, h, d, w or y"
        }
    }

    static let home = ["HOME": "/home/ledger-test"]

    static func settings(_ options: LedgerDaemonOptions = LedgerDaemonOptions(), _ environment: [String: String] = [:]) throws -> LedgerDaemonSettings {
        try LedgerDaemonSettings(options: options, environment: Self.home.merging(environment) { $1 }, userID: 1000)
    }

    @Test(arguments: Self.cases) func theVariableSetsItAndTheFlagWins(_ setting: Case) throws {
        let defaults = try Self.settings()
        let fromEnvironment = try Self.settings(LedgerDaemonOptions(), [setting.env: setting.value])
        #expect(setting.read(fromEnvironment) == setting.expected(setting.value))
        #expect(setting.read(fromEnvironment) != setting.read(defaults), "the value differs from the default, so the test can fail")
        var options = LedgerDaemonOptions()
        options[keyPath: setting.option] = setting.other
        let both = try Self.settings(options, [setting.env: setting.value])
        #expect(setting.read(both) == setting.expected(setting.other))
        // An empty variable is unset.
        #expect(setting.read(try Self.settings(LedgerDaemonOptions(), [setting.env: ""])) == setting.read(defaults))
    }

    @Test(arguments: Self.cases) func aBadValueNamesWhereItCameFrom(_ setting: Case) throws {
        guard let bad = setting.bad else { return }
        let flag = "--" + setting.env.dropFirst("LEDGER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
        #expect {
            try Self.settings(LedgerDaemonOptions(), [setting.env: bad])
        } throws: { error in
            "\(error)".hasPrefix("environment variable \(setting.env)=\"\(bad)\" is not valid: ")
        }
        var options = LedgerDaemonOptions()
        options[keyPath: setting.option] = bad
        #expect {
            try Self.settings(options, [setting.env: setting.value])
        } throws: { error in
            "\(error)".hasPrefix("\(flag) \"\(bad)\" is not valid: ") && !"\(error)".contains("\n")
        }
    }

    @Test func anEmptySocketFlagIsRefused() {
        var options = LedgerDaemonOptions()
        options.socket = ""
        #expect(throws: LedgerDaemonSettings.Error.self) { try Self.settings(options) }
    }

    @Test func theDefaultsAreWhatHelpShows() throws {
        let settings = try Self.settings()
        #expect(settings.configuration.commitBatchSize == LedgerDaemonSettings.defaults.commitBatchSize)
        #expect(settings.configuration.ingestQueueCapacity == LedgerDaemonSettings.defaults.ingestQueueCapacity)
        #expect(settings.configuration.readLimits == LedgerDaemonSettings.defaults.readLimits)
        #expect(settings.configuration.frameDeadline == LedgerDaemonSettings.defaults.frameDeadline)
        #expect(settings.logLevel == .info)
        #expect("\(settings.store)" == "sqlite:/home/ledger-test/.local/share/socialsync-ledger/ledger.sqlite")
        var memory = LedgerDaemonOptions()
        memory.store = "memory:10"
        let sized = try Self.settings(memory)
        #expect(sized.configuration.commitBatchSize == LedgerDaemonSettings.memoryDefaults.commitBatchSize)
        #expect(sized.configuration.commitBatchSize != LedgerDaemonSettings.defaults.commitBatchSize)
    }

    @Test func onlyTheDefaultPlacesAreCreated() throws {
        let defaults = try Self.settings()
        #expect(defaults.configuration.createsSocketDirectory && defaults.configuration.createsStoreDirectory)
        var options = LedgerDaemonOptions()
        options.socket = "/tmp/typed.sock"
        let typed = try Self.settings(options, ["LEDGER_STORE": "sqlite:/tmp/typed.sqlite"])
        #expect(!typed.configuration.createsSocketDirectory && !typed.configuration.createsStoreDirectory)
    }

    @Test func theSigningKeyLivesBesideItsStoreAndIsMadeOnlyWhereTheStoreIs() throws {
        let defaults = try Self.settings()
        #expect(defaults.signingKey == SigningKeyFile(path: "/home/ledger-test/.local/share/socialsync-ledger/ledger-signing.key", createsIfMissing: true))
        let typedStore = try Self.settings(LedgerDaemonOptions(), ["LEDGER_STORE": "sqlite:/srv/ledger/x.sqlite"])
        #expect(typedStore.signingKey == SigningKeyFile(path: "/srv/ledger/ledger-signing.key", createsIfMissing: true, createsDirectory: false))
        let postgres = try Self.settings(LedgerDaemonOptions(), ["LEDGER_STORE": "postgresql:///ledger"])
        #expect(postgres.signingKey == SigningKeyFile(path: "/home/ledger-test/.local/share/socialsync-ledger/ledger-signing.key", createsIfMissing: true))
        var options = LedgerDaemonOptions()
        options.signingKey = "/etc/ledger/key.pem"
        #expect(try Self.settings(options, ["LEDGER_SIGNING_KEY": "/elsewhere.pem"]).signingKey == SigningKeyFile(path: "/etc/ledger/key.pem", createsIfMissing: false))
        #expect(try Self.settings(LedgerDaemonOptions(), ["LEDGER_SIGNING_KEY": "/elsewhere.pem"]).signingKey?.path == "/elsewhere.pem")
        #expect(try Self.settings(LedgerDaemonOptions(), ["LEDGER_SIGNING_KEY": "off"]).signingKey == nil)
        #expect(try Self.settings(LedgerDaemonOptions(), ["LEDGER_STORE": "memory"]).signingKey == nil)
    }

    @Test func withNoHomeThereIsNoDefaultStore() {
        #expect {
            try LedgerDaemonSettings(options: LedgerDaemonOptions(), environment: [:], userID: 1000)
        } throws: { error in
            "\(error)".contains("give --store (or LEDGER_STORE)")
        }
    }

    @Test func theTLSListenerNeedsAllThreeFilesAndWritesOnlyWhenAsked() throws {
        let files = ["LEDGER_TLS_CERT": "/c.pem", "LEDGER_TLS_KEY": "/k.pem", "LEDGER_TLS_CLIENT_CA": "/ca.pem"]
        #expect(try Self.settings().configuration.tls == nil)
        let listening = try #require(try Self.settings(LedgerDaemonOptions(), files.merging(["LEDGER_TLS_LISTEN": "[::1]:7443"]) { $1 }).configuration.tls)
        #expect(listening.host == "::1" && listening.port == 7443 && !listening.allowWrites)
        var flag = LedgerDaemonOptions()
        flag.tlsListen = "127.0.0.1:0"
        flag.tlsAllowWrites = true
        #expect(try Self.settings(flag, files).configuration.tls?.allowWrites == true)
        let byVariable = try Self.settings(LedgerDaemonOptions(), files.merging(["LEDGER_TLS_LISTEN": "127.0.0.1:1", "LEDGER_TLS_ALLOW_WRITES": "1"]) { $1 })
        #expect(byVariable.configuration.tls?.allowWrites == true)
        #expect {
            try Self.settings(flag, ["LEDGER_TLS_CERT": "/c.pem"])
        } throws: { error in
            "\(error)" == "--tls-listen needs --tls-key, --tls-client-ca: there is no TLS without a certificate, nor without client certificates"
        }
        #expect(throws: LedgerDaemonSettings.Error.self) { try Self.settings(LedgerDaemonOptions(), ["LEDGER_TLS_CERT": "/c.pem"]) }
        #expect(throws: LedgerDaemonSettings.Error.self) { try Self.settings(LedgerDaemonOptions(), ["LEDGER_TLS_LISTEN": "nohost"]) }
    }

    @Test func allowWritesTakesTheUsualSpellingsOfYesAndNoAndNamesAnythingElse() throws {
        let tls = ["LEDGER_TLS_CERT": "/c.pem", "LEDGER_TLS_KEY": "/k.pem", "LEDGER_TLS_CLIENT_CA": "/ca.pem", "LEDGER_TLS_LISTEN": "127.0.0.1:1"]
        for (value, writes) in [("yes", true), ("TRUE", true), ("on", true), ("0", false), ("no", false), ("off", false)] {
            #expect(try Self.settings(LedgerDaemonOptions(), tls.merging(["LEDGER_TLS_ALLOW_WRITES": value]) { $1 }).configuration.tls?.allowWrites == writes)
        }
        #expect {
            try Self.settings(LedgerDaemonOptions(), tls.merging(["LEDGER_TLS_ALLOW_WRITES": "ja"]) { $1 })
        } throws: { error in
            "\(error)".hasPrefix("environment variable LEDGER_TLS_ALLOW_WRITES=\"ja\" is not valid")
        }
    }

    static let unix = ActivatedSocket(descriptor: 3, name: "ledgerd.socket", address: .unix(path: "/run/ledgerd/ledgerd.sock"))
    static let tcp = ActivatedSocket(descriptor: 4, name: "tls", address: .tcp("[::1]:7443"))

    static func activated(_ sockets: [ActivatedSocket], _ change: (inout LedgerDaemonOptions) -> Void = { _ in }, _ environment: [String: String] = [:]) throws -> LedgerServerConfiguration {
        var options = LedgerDaemonOptions()
        options.activatedSockets = sockets
        change(&options)
        return try Self.settings(options, environment).configuration
    }

    @Test func anActivatedUnixSocketIsServedInPlaceOfTheSocketPath() throws {
        let configuration = try Self.activated([Self.unix])
        #expect(configuration.socketPath == "/run/ledgerd/ledgerd.sock" && configuration.activatedSocket == 3)
        #expect(!configuration.createsSocketDirectory && configuration.tls == nil)
        #expect(try Self.activated([]).activatedSocket == nil)
        #expect(try Self.activated([Self.unix], { $0.socket = "/run/ledgerd/ledgerd.sock" }).activatedSocket == 3, "the same path is no conflict")
    }

    @Test func anActivatedTCPSocketIsTheTLSListenerAndNeedsItsFiles() throws {
        let files = ["LEDGER_TLS_CERT": "/c.pem", "LEDGER_TLS_KEY": "/k.pem", "LEDGER_TLS_CLIENT_CA": "/ca.pem"]
        let tls = try #require(try Self.activated([Self.unix, Self.tcp], { _ in }, files).tls)
        #expect(tls.activatedSocket == 4 && tls.host == "::1" && tls.port == 7443)
        #expect {
            try Self.activated([Self.tcp], { $0.tlsCert = "/c.pem" })
        } throws: { error in
            "\(error)" == "socket activation passed fd 4 (tls): TCP [::1]:7443, which needs --tls-key, --tls-client-ca: there is no TLS without a certificate, nor without client certificates"
        }
    }

    @Test(arguments: [
        ("--socket", "socket activation passed fd 3 (ledgerd.socket): Unix socket /run/ledgerd/ledgerd.sock, but --socket is /tmp/other.sock"),
        ("LEDGER_SOCKET", "socket activation passed fd 3 (ledgerd.socket): Unix socket /run/ledgerd/ledgerd.sock, but LEDGER_SOCKET is /tmp/other.sock"),
        ("--socket-mode", "socket activation passed fd 3 (ledgerd.socket): Unix socket /run/ledgerd/ledgerd.sock, whose mode the socket unit's SocketMode= sets: leave --socket-mode out"),
        ("--tls-listen", "socket activation passed fd 4 (tls): TCP [::1]:7443, and --tls-listen asks for another listener"),
        ("two Unix sockets", "socket activation passed two Unix sockets"),
        ("two TCP sockets", "socket activation passed two TCP sockets"),
    ])
    func whatContradictsTheActivatedSocketsIsNamed(conflict: String, message: String) {
        let other = ActivatedSocket(descriptor: 5, name: "extra", address: conflict == "two Unix sockets" ? .unix(path: "/run/x") : .tcp("127.0.0.1:1"))
        let sockets = conflict.hasPrefix("two") ? [Self.unix, Self.tcp, other] : [Self.unix, Self.tcp]
        let files = ["LEDGER_TLS_CERT": "/c.pem", "LEDGER_TLS_KEY": "/k.pem", "LEDGER_TLS_CLIENT_CA": "/ca.pem"]
        #expect {
            try Self.activated(
                sockets,
                { options in
                    switch conflict {
                    case "--socket": options.socket = "/tmp/other.sock"
                    case "--socket-mode": options.socketMode = "0600"
                    case "--tls-listen": options.tlsListen = "127.0.0.1:7443"
                    default: break
                    }
                }, conflict == "LEDGER_SOCKET" ? files.merging(["LEDGER_SOCKET": "/tmp/other.sock"]) { $1 } : files)
        } throws: { error in
            "\(error)".hasPrefix(message) && !"\(error)".contains("\n")
        }
    }
}

/// The settings file: its syntax, where it stands among the sources, and that it knows every setting.
@Suite struct SettingsFileTests {
    @Test func linesCommentsQuotesAndExport() throws {
        let values = try SettingsFile.parse(
            "# comment\n\n; also\nLEDGER_LOG_LEVEL=debug\nexport LEDGER_RETAIN=\"INFO=30d, WARN=1y\"\n  LEDGER_COMMIT_BATCH = '50'  \n", path: "f")
        #expect(values == ["LEDGER_LOG_LEVEL": "debug", "LEDGER_RETAIN": "INFO=30d, WARN=1y", "LEDGER_COMMIT_BATCH": "50"])
    }

    @Test(arguments: [
        ("LEDGER_LOG_LEVEL", "f line 1: 'LEDGER_LOG_LEVEL' is not NAME=value"),
        ("LEDGER_RETIAN=1d", "f line 1: ledgerd has no setting LEDGER_RETIAN"),
        ("HOME=/root", "f line 1: HOME is not a ledgerd setting"),
        ("LEDGER_RETAIN=\"INFO=1d", "f line 1: the value of LEDGER_RETAIN opens a quote"),
        ("LEDGER_READERS=2\nLEDGER_READERS=3", "f line 2: LEDGER_READERS is set twice"),
    ])
    func aBadLineIsNamedWithItsNumber(text: String, message: String) {
        #expect {
            try SettingsFile.parse(text, path: "f")
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func theFileStandsAboveTheEnvironmentAndBelowTheFlags() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/ledgerd.conf"
        try "LEDGER_COMMIT_BATCH=50\nLEDGER_READERS=3\nLEDGER_QUEUE_CAPACITY=many\n".write(toFile: file, atomically: true, encoding: .utf8)
        var options = LedgerDaemonOptions()
        options.config = file
        #expect {
            try LedgerDaemonSettingsTests.settings(options, ["LEDGER_COMMIT_BATCH": "40"])
        } throws: { error in
            "\(error)".hasPrefix("LEDGER_QUEUE_CAPACITY=\"many\" in \(file) is not valid")
        }
        try "LEDGER_COMMIT_BATCH=50\nLEDGER_READERS=3\n".write(toFile: file, atomically: true, encoding: .utf8)
        options.readers = "5"
        let settings = try LedgerDaemonSettingsTests.settings(options, ["LEDGER_COMMIT_BATCH": "40", "LEDGER_READERS": "2"])
        #expect(settings.configuration.commitBatchSize == 50 && settings.configuration.readLimits.readers == 5)
        #expect(settings.fileValues == ["LEDGER_COMMIT_BATCH": "50", "LEDGER_READERS": "3"] && settings.settingsFile == file)
        let byVariable = try LedgerDaemonSettingsTests.settings(LedgerDaemonOptions(), ["LEDGER_CONFIG": file])
        #expect(byVariable.configuration.commitBatchSize == 50)
        var missing = LedgerDaemonOptions()
        missing.config = "\(directory)/none.conf"
        #expect(throws: LedgerDaemonSettings.Error.self) { try LedgerDaemonSettingsTests.settings(missing) }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theShippedFileIsValid() throws {
        var options = LedgerDaemonOptions()
        options.config = Self.repository.appendingPathComponent("dist/ledgerd.conf").path
        let settings = try LedgerDaemonSettingsTests.settings(options)
        #expect("\(settings.store)" == "sqlite:/var/lib/socialsync-ledger/ledger.sqlite" && settings.logLevel == .info)
    }

    @Test func theFileKnowsEveryVariableTheSettingsRead() throws {
        let source = try String(
            contentsOf: Self.repository.appendingPathComponent("Sources/LedgerServer/Daemon/LedgerDaemonSettings.swift"), encoding: .utf8)
        let read = Set(source.matches(of: /"(LEDGER_[A-Z_]+)"/).map { String($0.output.1) }).subtracting(["LEDGER_CONFIG"])
        #expect(read.count > 20)
        #expect(read == SettingsFile.variables)
    }
}
