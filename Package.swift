// swift-tools-version:6.1
import PackageDescription

/// Every target builds in the Swift 6 language mode (complete strict concurrency checking);
/// `ExistentialAny` keeps the cost of `any P` visible. Warnings are not tolerated.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "hongbao",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hongbao", targets: ["hongbao"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .target(name: "Primitives", swiftSettings: strict),
        .target(
            name: "Ledger",
            dependencies: ["Primitives", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .target(
            name: "RedPackets",
            dependencies: ["Primitives", "Ledger", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .target(
            name: "Engine",
            dependencies: ["Primitives", "Ledger", "RedPackets"],
            swiftSettings: strict
        ),
        .target(
            name: "Dashboard",
            dependencies: ["Primitives", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strict
        ),
        // No `pkgConfig: "ncursesw"`: its cflags (-D_XOPEN_SOURCE=600) are "prohibited flags" to SwiftPM and
        // make every build print a warning. The module map links ncursesw/tinfo and the header defines what
        // the wide-character API needs.
        .systemLibrary(
            name: "CNCurses",
            providers: [.apt(["libncurses-dev"])]
        ),
        .target(
            name: "CNCursesShim",
            dependencies: ["CNCurses"],
            linkerSettings: [.linkedLibrary("ncursesw"), .linkedLibrary("tinfo")]
        ),
        .target(
            name: "TerminalUI",
            dependencies: ["Dashboard", "Primitives", "CNCursesShim"],
            swiftSettings: strict
        ),
        .target(
            name: "TestKit",
            dependencies: ["Primitives"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "hongbao",
            dependencies: [
                "Primitives", "Ledger", "RedPackets", "Engine", "Dashboard", "TerminalUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PrimitivesTests", dependencies: ["Primitives", "TestKit"], swiftSettings: strict),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "TestKit"], swiftSettings: strict),
        .testTarget(
            name: "DashboardTests",
            dependencies: ["Dashboard", "Primitives"],
            exclude: ["Snapshots", "Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "Dashboard"], swiftSettings: strict),
        .testTarget(name: "RedPacketsTests", dependencies: ["RedPackets", "Ledger", "TestKit"], swiftSettings: strict),
    ]
)
