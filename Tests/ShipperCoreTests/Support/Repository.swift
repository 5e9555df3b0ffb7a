import Foundation

/// Where the repository and scratch folders are, for tests that read the shipped configs and manifests.
enum Repository {
    private static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `path` inside the repository.
    static func appendingPathComponent(_ path: String) -> URL {
        root.appendingPathComponent(path)
    }

    /// A new empty folder under the system's temporary directory; the test removes it.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-core-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
