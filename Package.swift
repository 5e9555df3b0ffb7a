// swift-tools-version:6.0
import PackageDescription

// System libraries are linked by name per platform: Debian's packages call them
// sqlite3/z/ssl/crypto/zstd, the Windows (vcpkg) builds call them sqlite3/zlib/libssl/libcrypto/zstd.
let systemLibraries: [LinkerSetting] = [
    .linkedLibrary("sqlite3"),
    .linkedLibrary("z", .when(platforms: [.linux])),
    .linkedLibrary("zlib", .when(platforms: [.windows])),
    .linkedLibrary("ssl", .when(platforms: [.linux])),
    .linkedLibrary("crypto", .when(platforms: [.linux])),
    .linkedLibrary("libssl", .when(platforms: [.windows])),
    .linkedLibrary("libcrypto", .when(platforms: [.windows])),
    .linkedLibrary("zstd"),
    // The system store of trusted roots, for TLS clients (COpenSSL's shim).
    .linkedLibrary("crypt32", .when(platforms: [.windows])),
]

let package = Package(
    name: "shipper",
    products: [
        .executable(name: "shipper", targets: ["Shipper"]),
        .executable(name: "shipper-bench", targets: ["Benchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),

        // The libraries, lowest first; each depends only on those above it in this list.
        // scripts/check-layers fails on an import that goes the other way.
        .target(name: "Records", dependencies: ["CZlib", "CZstd"], linkerSettings: systemLibraries),
        .target(name: "Network", dependencies: ["COpenSSL", .target(name: "CEpoll", condition: .when(platforms: [.linux]))],
                linkerSettings: systemLibraries),
        .target(
            name: "Ingest",
            dependencies: ["Records", "Network", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .target(
            name: "Spool",
            dependencies: ["CSQLite", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .target(
            name: "CloudWatchLogs",
            dependencies: ["Records", "Network", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .target(
            name: "ShipperCore",
            dependencies: ["Records", "Network", "Ingest", "Spool", "CloudWatchLogs", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .executableTarget(
            name: "Shipper",
            dependencies: [
                "ShipperCore", "Ingest", "Spool", "Records", "Network", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: systemLibraries
        ),
        .executableTarget(
            name: "Benchmark",
            dependencies: [
                "Records", "Network", "Ingest", "Spool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: systemLibraries
        ),

        // One unit-test target per library, and one for everything that runs the binary.
        .testTarget(name: "RecordsTests", dependencies: ["Records", "CZstd"], linkerSettings: systemLibraries),
        .testTarget(name: "NetworkTests", dependencies: ["Network"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Records"]),
        .testTarget(name: "SpoolTests", dependencies: ["Spool"]),
        .testTarget(name: "CloudWatchLogsTests", dependencies: ["CloudWatchLogs"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ShipperCoreTests", dependencies: ["ShipperCore", "Ingest", "Spool", "Records", "CloudWatchLogs"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EndToEndTests", dependencies: ["Shipper", "ShipperCore", "Spool"]),
    ],
    swiftLanguageModes: [.v6]
)

// Release builds optimise across modules (the records model and its users are in different targets) and
// leave out the run-time exclusivity checks, about a tenth of ingest's CPU without acks (README: Measured).
// Debug builds, which the tests run, keep those checks, so an overlapping access still traps there.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
    ]
}

