// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the bytes ledgerd and its clients take from a socket.
// They are built only by scripts/fuzz.sh, with -sanitize=fuzzer,address, which is
// why they live in their own package: the main build never sees them.
let package = Package(
    name: "SocialSyncLedgerFuzz",
    dependencies: [
        .package(name: "SocialSyncLedger", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "LedgerProtocol", package: "SocialSyncLedger"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzRequests",
            dependencies: ["FuzzSupport", .product(name: "LedgerProtocol", package: "SocialSyncLedger")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzResponses",
            dependencies: ["FuzzSupport", .product(name: "LedgerProtocol", package: "SocialSyncLedger")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
