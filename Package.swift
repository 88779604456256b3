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
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // The SQS endpoint: HTTP server, and MD5 / HMAC-SHA256 for SQS's checksums and Signature Version 4.
        // No traits: the configuration-file support and full-Foundation extras are not used here.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "Primitives",
            dependencies: [.product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strict
        ),
        // Local PostgreSQL servers from the installed programs: a primary and streaming standbys, their faults
        // and failover (`hongbao cluster`), and the settings the PostgreSQL stores connect with.
        .target(
            name: "PostgresCluster",
            dependencies: [
                "Primitives",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // SQLite's process-wide settings (`sqlite3_config`, a C variadic function Swift cannot call).
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        // Hot-path statements through the SQLite C API, shared by the ledger and the queue's replicas.
        .target(
            name: "SQLiteSupport",
            dependencies: [
                "CSQLiteSettings",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Ledger",
            dependencies: ["Primitives", "SQLiteSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The credit path's contracts (account service, credit order and outcome, credit queue and message,
        // the red-packet side's recorder) and its pure state machine: below everything that takes part in it.
        .target(name: "Crediting", dependencies: ["Primitives"], swiftSettings: strict),
        .target(
            name: "RedPackets",
            dependencies: ["Primitives", "Ledger", "Crediting", "SQLiteSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .target(
            name: "AccountService",
            dependencies: ["Primitives", "Ledger", "Crediting"],
            swiftSettings: strict
        ),
        .target(
            name: "RetryWorker",
            dependencies: ["Primitives", "Crediting"],
            swiftSettings: strict
        ),
        // The same store protocols on PostgreSQL: the ledger, the red-packet store and the credit queue.
        .target(
            name: "PostgresStores",
            dependencies: [
                "Primitives", "Ledger", "Crediting", "RedPackets", "PostgresCluster", "MessageQueue",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Engine",
            dependencies: [
                "Primitives", "Ledger", "Crediting", "RedPackets", "AccountService", "RetryWorker", "MessageQueue",
                "PostgresStores",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MessageQueue",
            dependencies: [
                "Primitives", "SQLiteSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // Amazon SQS's wire protocol over the queue: the pure mapping (shapes, errors, checksums, signatures)
        // and the HTTP server around it.
        .target(
            name: "SQSServer",
            dependencies: [
                "Primitives", "MessageQueue",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Simulation",
            dependencies: [
                "Primitives", "Engine", "Ledger", "Crediting", "RedPackets", "AccountService", "MessageQueue", "RetryWorker",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Benchmarks",
            dependencies: [
                "Primitives", "Ledger", "MessageQueue", "Engine", "Simulation", "Dashboard", "SQSServer", "PostgresStores",
                "PostgresCluster", "Crediting", "RedPackets", "AccountService", "RetryWorker", "SQLiteSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // The SQS bench's HTTP client (NIO is built for the server anyway).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
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
            dependencies: ["Primitives", "PostgresCluster"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "hongbao",
            dependencies: [
                "Primitives", "Ledger", "RedPackets", "Engine", "MessageQueue", "Simulation", "RetryWorker", "Benchmarks", "PostgresStores",
                "Dashboard", "TerminalUI", "SQSServer", "PostgresCluster", "SQLiteSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict,
            // jemalloc instead of glibc's malloc: 4 % less CPU and a lower open p99 under the Gala load (DESIGN.md,
            // section 2, "Allocator"). Debian's libjemalloc-dev.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        .testTarget(
            name: "PostgresClusterTests",
            dependencies: ["PostgresCluster", "TestKit", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict
        ),
        .testTarget(name: "PrimitivesTests", dependencies: ["Primitives", "TestKit"], swiftSettings: strict),
        .testTarget(
            name: "SQLiteSupportTests",
            dependencies: ["SQLiteSupport", "TestKit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: ["Ledger", "TestKit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RedPacketsTests",
            dependencies: ["RedPackets", "Ledger", "Crediting", "AccountService", "TestKit",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PostgresStoresTests",
            dependencies: ["PostgresStores", "PostgresCluster", "Ledger", "RedPackets", "Crediting", "Engine", "MessageQueue",
                           "AccountService", "TestKit"],
            swiftSettings: strict
        ),
        .testTarget(name: "CreditingTests", dependencies: ["Crediting", "Primitives"], swiftSettings: strict),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["hongbao", "Simulation", "TestKit", "PostgresCluster", "PostgresStores", "Engine",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: [
                "Simulation", "Engine", "Ledger", "RedPackets", "MessageQueue", "Primitives", "TestKit",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "AccountService", "Ledger", "RedPackets", "MessageQueue", "TestKit", "PostgresStores", "PostgresCluster",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MessageQueueTests",
            dependencies: ["MessageQueue", "TestKit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SQSServerTests",
            dependencies: [
                "SQSServer", "MessageQueue", "Primitives", "TestKit",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DashboardTests",
            dependencies: ["Dashboard", "Primitives"],
            exclude: ["Snapshots", "Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "Dashboard", "TestKit"], swiftSettings: strict),
        .testTarget(
            name: "BenchmarksTests",
            dependencies: ["Benchmarks", "Ledger", "MessageQueue", "Engine", "TestKit"],
            swiftSettings: strict
        ),
    ]
)
