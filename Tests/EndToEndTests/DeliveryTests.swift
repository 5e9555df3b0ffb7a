import Foundation
import XCTest
@testable import ShipperCore

/// Delivery against a CloudWatch that misbehaves: every acked record arrives,
/// duplicates only where the service stored a batch and still answered an error.
final class DeliveryTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func lines(_ sequences: [Int]) -> [String] {
        sequences.map { "line \($0)" }
    }

    /// Sends 2 × 150 acked records through the tutorial config to a fake CloudWatch
    /// injecting `fault`; returns the fake once every acked record is stored.
    @discardableResult
    private func deliverThrough(_ arguments: [String], allowDuplicates: Bool, file: StaticString = #filePath, line: UInt = #line) throws -> FakeCloudWatch {
        let fake = try FakeCloudWatch(arguments)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let first = try sendDockerRecords(port: shipper.port, count: 150, ack: true, extra: ["--task", "aaaa1111"])
        let second = try sendDockerRecords(port: shipper.port, count: 150, start: 150, ack: true, extra: ["--task", "bbbb2222"])
        let acked = Set(lines(first + second))
        XCTAssertEqual(acked.count, 300, file: file, line: line)
        try eventually(timeout: 120, "all 300 acked records stored by the fake") {
            acked.isSubset(of: Set(try fake.lines()))
        }
        let state = try fake.state()
        let stored = try fake.lines()
        let extra = stored.count - Set(stored).count
        if allowDuplicates {
            XCTAssertLessThanOrEqual(extra, state.accepted500_events, "duplicates only from batches stored but answered 500", file: file, line: line)
        } else {
            XCTAssertEqual(extra, 0, "no duplicates", file: file, line: line)
        }
        XCTAssertGreaterThan(state.faults.values.reduce(0, +), 0, "the fault was injected at least once", file: file, line: line)
        XCTAssertEqual(try shipper.child.terminate(), 0, file: file, line: line)
        return fake
    }

    func testThrottlingLosesNothing() throws {
        try deliverThrough(["--fault", "throttle:0.4"], allowDuplicates: false)
    }

    func testServerErrorsLoseNothing() throws {
        try deliverThrough(["--fault", "error500:0.25", "--fault", "error503:0.25"], allowDuplicates: false)
    }

    func testConnectionResetsLoseNothing() throws {
        try deliverThrough(["--fault", "reset:0.4"], allowDuplicates: false)
    }

    func testSlowAnswersLoseNothing() throws {
        try deliverThrough(["--fault", "slow:0.3"], allowDuplicates: false)
    }

    func testStoredButAnswered500DuplicatesAtMostThoseBatches() throws {
        try deliverThrough(["--fault", "accepted500:0.4", "--seed", "7"], allowDuplicates: true)
    }

    func testSequenceTokensOfTheOldServiceAreFollowedAcrossARestart() throws {
        let fake = try FakeCloudWatch(["--require-sequence-tokens"])
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let port = shipper.port
        let first = try sendDockerRecords(port: port, count: 50, ack: true)
        try eventually(timeout: 60, "the first 50 stored") { try fake.lines().count == 50 }
        XCTAssertEqual(try shipper.child.terminate(), 0)

        // A new process does not know the stream's token: the service's answer tells it.
        shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: fake.endpoint)
        let second = try sendDockerRecords(port: port, count: 50, start: 50, ack: true)
        try eventually(timeout: 60, "all 100 stored") { try fake.lines().count >= 100 }
        let stored = try fake.lines()
        XCTAssertEqual(Set(stored), Set(lines(first + second)))
        XCTAssertEqual(stored.count, 100, "no duplicates")
        XCTAssertGreaterThan(try fake.state().errors["InvalidSequenceTokenException", default: 0], 0, "the restart met the token check")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testStreamsOfOneGroupAreSentSideBySide() throws {
        // Four tasks of one family: one log group, four streams, every answer slow.
        let fake = try FakeCloudWatch(["--fault", "slow:1.0"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        var acked: [Int] = []
        for (index, task) in ["aaaa0001", "aaaa0002", "aaaa0003", "aaaa0004"].enumerated() {
            acked += try sendDockerRecords(port: shipper.port, count: 10, start: index * 10, ack: true, extra: ["--task", task])
        }
        try eventually(timeout: 60, "40 records stored") { Set(try fake.lines()) == Set(lines(acked)) }
        XCTAssertEqual(Set(try fake.state().events.map(\.group)).count, 1)
        XCTAssertGreaterThan(try fake.state().max_concurrent_puts, 1, "calls for different streams overlap")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// A group's streams take turns: a stream that appears while another of its group
    /// keeps logging (a new task of the same family) starts sending within a few calls,
    /// instead of waiting for the busy stream to empty, which it never does.
    func testANewStreamIsNotHeldBackByABusyStreamOfItsGroup() throws {
        let fake = try FakeCloudWatch(["--fault", "slow:1.0"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let busy = try ChildProcess("python3", [TestPaths.tool("docker_forward_client.py"), "--port", "\(shipper.port)", "--count", "1000000",
                                                "--ack", "--task", "b0b0b0b0", "--start", "100000"], name: "busy stream")
        try eventually(timeout: 60, "the busy stream delivering") { try fake.state().events.count > 0 }
        let newcomer = try sendDockerRecords(port: shipper.port, count: 10, ack: true, extra: ["--task", "aaaa0001"])
        XCTAssertEqual(newcomer.count, 10)
        let sent = Date()
        try eventually(timeout: 20, "the new stream's 10 records delivered beside the busy one") {
            try fake.state().events.filter { $0.stream.hasSuffix("aaaa0001.sample-container") }.count == 10
        }
        print("a new stream beside a busy one, every call 2 s: delivered after \(String(format: "%.1f", Date().timeIntervalSince(sent))) s")
        XCTAssertTrue(busy.process.isRunning, "the busy stream was still logging")
        busy.kill9()
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// After an outage every stream resumes together: the first answer from the endpoint
    /// wakes the streams waiting out their (jittered, by now long) backoffs.
    func testAfterAnOutageEveryStreamResumesWithinSecondsOfTheFirst() throws {
        let fake = try FakeCloudWatch()
        try fake.setOutage(true)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let tasks = (1...8).map { String(format: "cccc%04d", $0) }
        for (index, task) in tasks.enumerated() {
            XCTAssertEqual(try sendDockerRecords(port: shipper.port, count: 5, start: index * 5, ack: true, extra: ["--task", task]).count, 5)
        }
        // About six failed calls a stream: backoff ceilings of 6 to 13 s by then.
        try eventually(timeout: 120, "the streams backing off") { try fake.state().faults["outage", default: 0] >= 48 }
        try fake.setOutage(false)
        var first: Date?
        try eventually(timeout: 60, "every stream delivered") {
            let streams = Set(try fake.state().events.map(\.stream))
            if first == nil && !streams.isEmpty { first = Date() }
            return streams.count == tasks.count
        }
        let spread = Date().timeIntervalSince(first ?? Date())
        print("after the outage, the last stream resumed \(String(format: "%.1f", spread)) s after the first")
        XCTAssertLessThan(spread, 2.5, "every stream resumes within seconds of the first success")
        XCTAssertEqual(try fake.lines().count, 40)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testBatchesInFlightAreBoundedAcrossLogGroups() throws {
        // Twelve task families: twelve log groups, each with a stream to send, every answer slow.
        // Without one bound for the whole process each group would have its call in flight at once.
        let fake = try FakeCloudWatch(["--fault", "slow:1.0"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        var acked: [Int] = []
        for family in 0..<12 {
            acked += try sendDockerRecords(port: shipper.port, count: 3, start: family * 3, ack: true, extra: ["--family", "family-\(family)"])
        }
        try eventually(timeout: 120, "36 records stored") { Set(try fake.lines()) == Set(lines(acked)) }
        XCTAssertEqual(Set(try fake.state().events.map(\.group)).count, 12)
        let most = try fake.state().max_concurrent_puts
        XCTAssertLessThanOrEqual(most, UploadSupervisor.batchesInFlight, "no more calls in flight than delivery slots")
        XCTAssertGreaterThan(most, 1, "groups still send side by side")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testARefusedEventIsIsolatedIntoDeadLettersAndTheRestDelivered() throws {
        let fake = try FakeCloudWatch(["--reject-message", "POISON"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(flush: "1"), directory: directory, endpoint: fake.endpoint)
        let acked = try sendDockerRecords(port: shipper.port, count: 100, ack: true, extra: ["--poison", "42"])
        XCTAssertEqual(acked.count, 100)
        try eventually(timeout: 60, "the 99 good records stored") { Set(try fake.lines()).count == 99 }
        try shipper.child.waitForLine("CloudWatch refuses an event for good; it goes to dead letters")
        XCTAssertFalse(try fake.lines().contains { $0.contains("POISON") })
        XCTAssertEqual(try shipper.child.terminate(), 0)
        let dead = try ChildProcess("python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*), max(reason) FROM dead_letters').fetchone())",
                                                directory.appendingPathComponent("spool/shipper.sqlite").path], name: "sqlite")
        XCTAssertEqual(try dead.waitForExit(), 0)
        XCTAssertTrue(dead.text.contains("(1, 'invalid: PutLogEvents: InvalidParameterException"), dead.text)
    }

    func testRetentionAndGroupCreationFollowTheOutputOptions() throws {
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    auto_create_group   On",
            with: "    auto_create_group   On\n    log_retention_days  14\n    log_group_class     INFREQUENT_ACCESS\n    log_group_tags      team=ops, cost=logs")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        try sendDockerRecords(port: shipper.port, count: 5, ack: true)
        try eventually(timeout: 60, "5 records stored") { try fake.lines().count == 5 }
        XCTAssertEqual(try fake.state().retention, ["/aws/ecs/FluentBit-cluster.windows-app-task": 14])
        XCTAssertEqual(try fake.state().group_options["/aws/ecs/FluentBit-cluster.windows-app-task"],
                       .init(tags: ["team": "ops", "cost": "logs"], class: "INFREQUENT_ACCESS"))
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testKillDuringABurstOfSlowUploadsResendsAtMostTheBatchesInFlight() throws {
        let fake = try FakeCloudWatch(["--fault", "slow:1.0"])
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let port = shipper.port
        let acked = try sendDockerRecords(port: port, count: 400, ack: false) + sendDockerRecords(port: port, count: 100, start: 400, ack: true)
        try eventually(timeout: 30, "an upload under way") { try fake.state().calls["PutLogEvents", default: 0] > 0 }
        shipper.child.kill9()
        shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: fake.endpoint)
        let expected = Set(lines(acked.filter { $0 >= 400 }))
        try eventually(timeout: 120, "every acked record stored") { expected.isSubset(of: Set(try fake.lines())) }
        let stored = try fake.lines()
        // One stream, one batch in flight at the kill: at most that batch (10,000 events) again.
        XCTAssertLessThanOrEqual(stored.count - Set(stored).count, 10_000)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// A spool written two releases before (format 2: streams without their counters or outputs)
    /// is upgraded in place by the next start, and everything it held is delivered once.
    func testASpoolOfFormat2IsUpgradedAndDelivered() throws {
        // What format 2 was: the same tables, the streams without their counters (or outputs).
        try assertAnOlderSpoolIsUpgradedAndDeliveredOnce(directory: directory, version: 2, streamsColumns: OlderStreamsColumns.format2, upgradeLines: [])
    }

    func testShutdownDuringAnOutageKeepsEveryRecordForTheNextStart() throws {
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: "http://127.0.0.1:9")
        let port = shipper.port
        let acked = try sendDockerRecords(port: port, count: 40, ack: true)
        let started = Date()
        XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 7, "Grace (5 s) + 2 s bounds the shutdown")
        try shipper.child.waitForLine("stopped; undelivered records stay in the spool")

        let fake = try FakeCloudWatch()
        shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: fake.endpoint)
        try eventually(timeout: 60, "the 40 records after the restart") { Set(try fake.lines()) == Set(lines(acked)) }
        XCTAssertEqual(try fake.lines().count, 40)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testTLSVerifyOffReachesASelfSignedEndpointAndOnRefusesIt() throws {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try ChildProcess("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
                                                   "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate], name: "openssl")
        XCTAssertEqual(try openssl.waitForExit(timeout: 60), 0, openssl.text)
        let fake = try FakeCloudWatch(["--tls-cert", certificate, "--tls-key", key])

        // Verification on (the default): the self-signed certificate is refused and nothing is sent.
        let verifying = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let acked = try sendDockerRecords(port: verifying.port, count: 5, ack: true)
        try verifying.child.waitForLine("delivery failing; retrying with backoff")
        XCTAssertEqual(try fake.state().calls["PutLogEvents", default: 0], 0)
        XCTAssertEqual(try verifying.child.terminate(), 0)

        // Verification on, the certificate trusted through OpenSSL's SSL_CERT_FILE: its chain and
        // its name (127.0.0.1) check out, and the records go out.
        let trustingTheFile = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: verifying.port), directory: directory, endpoint: fake.endpoint,
                                                 credentials: ShipperProcess.testKeys.merging(["SSL_CERT_FILE": certificate]) { $1 })
        try eventually(timeout: 60, "the 5 records over verified HTTPS") { Set(try fake.lines()) == Set(lines(acked)) }
        XCTAssertEqual(try trustingTheFile.child.terminate(), 0)

        // tls.verify Off: without any trust, the next records go out too.
        let config = try ShipperProcess.tutorialConfig(port: verifying.port).replacingOccurrences(
            of: "    auto_create_group   On", with: "    auto_create_group   On\n    tls.verify          Off")
        let trusting = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        try trusting.child.waitForLine("tls.verify Off: the certificate of https://127.0.0.1")
        let more = try sendDockerRecords(port: trusting.port, count: 5, start: 5, ack: true)
        try eventually(timeout: 60, "5 more records over unverified HTTPS") { Set(try fake.lines()) == Set(lines(acked + more)) }
        XCTAssertEqual(try trusting.child.terminate(), 0)
    }

    func testCredentialsFromTheECSContainerEndpoint() throws {
        let fake = try FakeCloudWatch(["--creds-token", "task-token", "--creds-key", "AKIDTASKROLE"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint, credentials: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.endpoint + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token",
        ])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try eventually(timeout: 60, "3 records stored") { try fake.lines().count == 3 }
        XCTAssertEqual(try fake.state().access_keys, ["AKIDTASKROLE"])
        try shipper.child.waitForLine("credentials from ECS container endpoint")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testCredentialsFromTheContainerEndpointTokenFile() throws {
        let fake = try FakeCloudWatch(["--creds-token", "file-token", "--creds-key", "AKIDFROMFILE"])
        let tokenFile = directory.appendingPathComponent("token").path
        try "file-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint, credentials: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.endpoint + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
        ])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try eventually(timeout: 60, "3 records stored") { try fake.lines().count == 3 }
        XCTAssertEqual(try fake.state().access_keys, ["AKIDFROMFILE"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testCredentialsFromInstanceMetadataV2() throws {
        let fake = try FakeCloudWatch(["--creds-key", "AKIDINSTANCE"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint, credentials: [
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake.endpoint,
        ])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try eventually(timeout: 60, "3 records stored") { try fake.lines().count == 3 }
        XCTAssertEqual(try fake.state().access_keys, ["AKIDINSTANCE"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testCredentialsFromASharedProfile() throws {
        let fake = try FakeCloudWatch()
        let awsFolder = directory.appendingPathComponent(".aws")
        try FileManager.default.createDirectory(at: awsFolder, withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n\n[logs]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = y\n"
            .write(to: awsFolder.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint, credentials: ["AWS_PROFILE": "logs"])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try eventually(timeout: 60, "3 records stored") { try fake.lines().count == 3 }
        XCTAssertEqual(try fake.state().access_keys, ["AKIDPROFILE"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testCredentialsFromWebIdentityThroughSTS() throws {
        let moto = try MotoServer()
        let tokenFile = directory.appendingPathComponent("web-identity-token").path
        try "eyJhbGciOiJSUzI1NiJ9.test.signature".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: moto.endpoint, credentials: [
            "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/fluentTaskRole",
        ])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try eventually(timeout: 60, "3 records in moto") { try moto.events().count == 3 }
        try shipper.child.waitForLine("credentials from web identity")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testNoCredentialsIsLoggedOnceAndRecordsWait() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint, credentials: [:])
        try sendDockerRecords(port: shipper.port, count: 3, ack: true)
        try shipper.child.waitForLine("no AWS credentials")
        try shipper.child.waitForOutput(timeout: 10, "a few retries") { $0.components(separatedBy: "\n").count > 3 }
        XCTAssertEqual(shipper.child.text.components(separatedBy: "no AWS credentials").count - 1, 1, "logged once, not per retry")
        XCTAssertEqual(try fake.lines().count, 0)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
