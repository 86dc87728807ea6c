// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded: Target.Dependency = .product(name: "NIOEmbedded", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let atomics: Target.Dependency = .product(name: "Atomics", package: "swift-atomics")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals: Target.Dependency = .product(name: "UnixSignals", package: "swift-service-lifecycle")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
/// Locks that ThreadSanitizer sees (pthread mutexes); the standard library's Mutex is invisible to it on Linux.
let nioLocks: Target.Dependency = .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let cryptoExtras: Target.Dependency = .product(name: "CryptoExtras", package: "swift-crypto")

let package = Package(
    name: "SocialSyncLedger",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LedgerProtocol", targets: ["LedgerProtocol"]),
        .library(name: "LedgerClient", targets: ["LedgerClient"]),
        .library(name: "LedgerTree", targets: ["LedgerTree"]),
        .library(name: "LedgerStore", targets: ["LedgerStore"]),
        .library(name: "LedgerServer", targets: ["LedgerServer"]),
        .executable(name: "ledgerd", targets: ["ledgerd"]),
        .executable(name: "ledger-rpc", targets: ["ledger-rpc"]),
        .executable(name: "ledger-demo", targets: ["ledger-demo"]),
        .executable(name: "ledger-bench", targets: ["ledger-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .target(
            name: "LedgerProtocol",
            dependencies: [nioCore],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerTree",
            dependencies: ["LedgerProtocol", nioCore, crypto, cryptoExtras],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerFiles",
            dependencies: ["LedgerProtocol"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerTLS",
            dependencies: [nioCore, nioSSL],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "LedgerStore",
            dependencies: ["LedgerProtocol", "LedgerTree", "LedgerFiles", "CSQLite", "CLibPQ", nioCore, nioPosix, logging, nioLocks],
            exclude: ["Migrations"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(name: "embed-migrations", swiftSettings: swiftSettings),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-migrations"]),
        .target(
            name: "LedgerServer",
            dependencies: [
                "LedgerProtocol", "LedgerTree", "LedgerFiles", "LedgerTLS", "LedgerStore", nioCore, nioPosix, nioSSL, nioTLS, logging, serviceLifecycle, unixSignals, atomics,
                nioLocks, nioHTTP1, prometheus,
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerClient",
            dependencies: ["LedgerProtocol", "LedgerFiles", "LedgerTLS", nioCore, nioPosix, nioSSL, nioTLS, atomics, nioLocks],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ledgerd",
            dependencies: ["LedgerServer", "LedgerStore", "LedgerTree", "LedgerFiles", argumentParser, logging, serviceLifecycle],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ledger-rpc",
            dependencies: ["LedgerClient", "LedgerProtocol", "LedgerTree", "LedgerStore", argumentParser],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ledger-demo",
            dependencies: ["LedgerClient", argumentParser],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "LedgerClient", "LedgerProtocol", "LedgerStore", "LedgerFiles", argumentParser, atomics, logging, nioCore, nioPosix, nioLocks,
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerProtocolTests",
            dependencies: ["LedgerProtocol", nioCore, .product(name: "NIOTestUtils", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerTreeTests",
            dependencies: ["LedgerTree", "LedgerProtocol", nioCore, nioLocks],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerFilesTests",
            dependencies: ["LedgerFiles", "LedgerTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: ["LedgerTestSupport", "LedgerStore", "LedgerProtocol"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerTestSupport",
            dependencies: ["LedgerStore", "LedgerProtocol", "LedgerFiles", logging, nioLocks],
            path: "Tests/LedgerTestSupport",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerServerTestSupport",
            dependencies: ["LedgerTestSupport", "LedgerServer", "LedgerStore", "LedgerProtocol", logging, serviceLifecycle],
            path: "Tests/LedgerServerTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerServerTests",
            dependencies: [
                "LedgerTestSupport", "LedgerServerTestSupport", "LedgerServer", "LedgerStore", "LedgerProtocol", "LedgerTree", nioCore, nioEmbedded, nioLocks,
                nioPosix,
                logging, serviceLifecycle, .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"), atomics,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerClientTests",
            dependencies: ["LedgerTestSupport", "LedgerClient", "LedgerProtocol", nioSSL, nioCore, nioEmbedded, nioLocks],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerRPCTests",
            dependencies: ["ledger-rpc", "LedgerProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["LedgerTestSupport", "LedgerProtocol", "LedgerClient", nioCore, nioLocks],
            swiftSettings: swiftSettings
        ),
    ]
)
