import XCTest
@testable import Network

/// The socket API every other layer builds on, over real loopback connections.
final class StreamSocketTests: XCTestCase {
    private func connectedPair(host: String = "127.0.0.1") throws -> (listener: StreamSocket, client: StreamSocket, server: StreamSocket) {
        let listener = try StreamSocket.listen(host: host, port: 0)
        let client = try StreamSocket.connect(host: host, port: listener.localPort)
        XCTAssertTrue(listener.isReadable(within: 5), "the connection never reached the listener")
        return (listener, client, try XCTUnwrap(try listener.accept()))
    }

    func testBytesWrittenOnOneSideAreReadOnTheOther() throws {
        let (_, client, server) = try connectedPair()
        try client.write(Array("hello".utf8))
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try buffer.withUnsafeMutableBytes { try server.read(into: $0) }
        XCTAssertEqual(Array(buffer[0..<count]), Array("hello".utf8))
    }

    func testAnIPv6PeerIsBracketed() throws {
        let listener: StreamSocket
        do { listener = try StreamSocket.listen(host: "::1", port: 0) } catch { throw XCTSkip("no IPv6 loopback here: \(error)") }
        let client = try StreamSocket.connect(host: "::1", port: listener.localPort)
        XCTAssertTrue(listener.isReadable(within: 5))
        let server = try XCTUnwrap(try listener.accept())
        XCTAssertTrue(server.peer.hasPrefix("[::1]:"), server.peer)
        withExtendedLifetime(client) {}
    }

    func testANonBlockingWriteGivesUpOnAPeerThatDoesNotRead() throws {
        let (_, client, server) = try connectedPair()
        server.makeNonBlocking()
        let chunk = [UInt8](repeating: 7, count: 64 * 1024)
        var accepted = 0
        // The kernel's buffers on both sides hold a few MiB at most; 1 GiB is never taken.
        while case .transferred(let n) = try chunk.withUnsafeBytes({ try server.writeAvailable($0) }) {
            accepted += n
            XCTAssertLessThan(accepted, 1 << 30, "every write was taken although the peer reads nothing")
            if accepted >= 1 << 30 { break }
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertEqual(try chunk.withUnsafeBytes { try server.writeAvailable($0) }, .needsWritable)
        withExtendedLifetime(client) {}
    }

    func testAListenerWithNothingPendingAnswersAtOnce() throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        XCTAssertNil(try listener.accept(), "accept on a listener with no connection pending must not wait")
    }

    func testReadableReportsOnlyTheSocketsWithInput() throws {
        let (_, quietClient, quietServer) = try connectedPair()
        let (_, talkingClient, talkingServer) = try connectedPair()
        try talkingClient.write([1])
        XCTAssertEqual(StreamSocket.readable([quietServer, talkingServer], within: 5), [false, true])
        withExtendedLifetime(quietClient) {}
    }

    func testAReceiveTimeoutEndsASilentRead() throws {
        let (_, client, server) = try connectedPair()
        server.setReceiveTimeout(0.2)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBytes { try server.read(into: $0) }) { error in
            XCTAssertTrue((error as? SocketError)?.isTimeout == true, "\(error)")
        }
        withExtendedLifetime(client) {}
    }

    func testShuttingDownSendingIsAnEndOfStreamForThePeer() throws {
        let (_, client, server) = try connectedPair()
        server.shutdownSending()
        client.setReceiveTimeout(5)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try client.read(into: $0) }, 0)
    }

    func testAResetMakesThePeersNextWriteFailWhileTheSocketIsStillHeld() throws {
        let (_, client, server) = try connectedPair()
        server.shutdownSending()
        server.reset()
        client.makeNonBlocking()
        // Held and not closed, the socket would take these writes into its buffer until the deadline.
        // Linux fails the first write; Winsock resets on the first and fails the next.
        let deadline = Date().addingTimeInterval(5)
        var failure: Error?
        while failure == nil && Date() < deadline {
            do {
                _ = try [UInt8](repeating: 1, count: 64).withUnsafeBytes { try client.writeAvailable($0) }
                Thread.sleep(forTimeInterval: 0.001)
            } catch {
                failure = error
            }
        }
        XCTAssertNotNil(failure, "the peer could still write after the reset")
        withExtendedLifetime(server) {}
    }
}
