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
        .target(
            name: "Ingest",
            dependencies: ["CZlib", "CZstd", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .target(
            name: "Spool",
            dependencies: ["CSQLite", .product(name: "Logging", package: "swift-log")],
            linkerSettings: systemLibraries
        ),
        .executableTarget(
            name: "Shipper",
            dependencies: [
                "Ingest", "Spool", "COpenSSL", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: systemLibraries
        ),
        .executableTarget(
            name: "Benchmark",
            dependencies: [
                "Ingest", "Spool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: systemLibraries
        ),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "CZstd"], linkerSettings: systemLibraries),
        .testTarget(name: "SpoolTests", dependencies: ["Spool"]),
        .testTarget(
            name: "ShipperTests",
            dependencies: ["Shipper", "Ingest", "Spool"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
