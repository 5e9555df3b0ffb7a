import XCTest
import Ingest
import Records
@testable import ShipperCore

final class ConfigTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Repository.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func load(_ text: String, environment: [String: String] = ["AWS_REGION": "eu-west-1"]) throws -> ShipperConfiguration {
        let path = directory.appendingPathComponent("test.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try ShipperConfiguration(file: path, environment: environment)
    }

    private func assertError(_ text: String, line: Int?, contains fragment: String, file: StaticString = #filePath, testLine: UInt = #line) {
        XCTAssertThrowsError(try load(text), file: file, line: testLine) { error in
            guard let error = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: testLine) }
            XCTAssertEqual(error.location?.line, line, "\(error)", file: file, line: testLine)
            XCTAssertTrue(error.description.contains(fragment), "\(error) lacks \"\(fragment)\"", file: file, line: testLine)
        }
    }

    private let minimal = """
        [INPUT]
            Name forward
        [OUTPUT]
            Name cloudwatch_logs
            log_group_name g
            log_stream_prefix p-
        """

    func testTutorialConfigLoadsVerbatim() throws {
        let path = try XCTUnwrap(Bundle.module.url(forResource: "tutorial-cloudwatch", withExtension: "conf", subdirectory: "Fixtures")).path
        let configuration = try ShipperConfiguration(file: path, environment: [:])
        XCTAssertEqual(configuration.service.flush, 5)
        XCTAssertEqual(configuration.service.logLevel, "info")
        let input = try XCTUnwrap(configuration.inputs.first)
        XCTAssertEqual(input.listen, "0.0.0.0")
        XCTAssertEqual(input.port, 24224)
        XCTAssertEqual(input.tagPrefix, "ecs.")
        XCTAssertEqual(input.bufferChunkSize, 1 << 20)
        XCTAssertEqual(input.bufferMaxSize, 6 << 20)
        XCTAssertEqual(configuration.filters.map(\.name), ["modify", "rewrite_tag"])
        XCTAssertEqual((configuration.filters[0] as? ModifyFilter)?.rules.count, 5)
        let output = try XCTUnwrap(configuration.outputs.first)
        XCTAssertEqual(output.region, "region")
        XCTAssertEqual(output.logGroupName, "fallback-group")
        XCTAssertEqual(output.logStreamPrefix, "task-")
        XCTAssertTrue(output.autoCreateGroup)
        XCTAssertEqual(output.match, TagPattern("out.*"))
        XCTAssertEqual(configuration.notices.filter { $0.level == .warning }, [], "the tutorial's config has no unknown keys")
    }

    func testAwsForFluentBitImageLayoutLoadsWithIncludesAndEnvironment() throws {
        let path = Repository.appendingPathComponent("ops/config/ecs_windows_forward_daemon/cloudwatch.conf").path
        let configuration = try ShipperConfiguration(file: path, environment: ["AWS_REGION": "ap-southeast-2"])
        XCTAssertEqual(configuration.service.grace, 30)
        XCTAssertEqual(configuration.inputs.first?.tagPrefix, "ecs.")
        XCTAssertEqual(configuration.filters.count, 2)
        XCTAssertEqual(configuration.outputs.first?.region, "ap-southeast-2")
        XCTAssertEqual(configuration.outputs.first?.endpoint.absoluteString, "https://logs.ap-southeast-2.amazonaws.com/")
        XCTAssertTrue(configuration.notices.contains { $0.message.contains("net.dns.resolver") && $0.location.line == 16 })
        XCTAssertTrue(configuration.notices.contains { $0.message.contains("@INCLUDE /ecs_windows_forward_daemon/service.conf not found") })
    }

    func testDefaultConfigIsTheTutorialsWithTheRegionFromTheEnvironment() throws {
        let path = Repository.appendingPathComponent("ops/config/cloudwatch.conf").path
        let configuration = try ShipperConfiguration(file: path, environment: ["AWS_REGION": "eu-central-1"])
        XCTAssertEqual(configuration.outputs.first?.region, "eu-central-1")
        XCTAssertEqual(configuration.filters.map(\.name), ["modify", "rewrite_tag"])
        XCTAssertEqual(configuration.notices.filter { $0.level == .warning }, [])
    }

    func testKeysAreCaseInsensitiveAndVariablesExpand() throws {
        let configuration = try load("""
            @SET port=5170
            [service]
                flush 0.5
            [Input]
                NAME forward
                port ${port}
                TAG_PREFIX ${PREFIX}
            [OUTPUT]
                name cloudwatch_logs
                Log_Group_Name g
                LOG_STREAM_NAME fixed
                Endpoint http://127.0.0.1:4566
            """, environment: ["AWS_REGION": "us-west-2", "PREFIX": "docker."])
        XCTAssertEqual(configuration.service.flush, 0.5)
        XCTAssertEqual(configuration.inputs.first?.port, 5170)
        XCTAssertEqual(configuration.inputs.first?.tagPrefix, "docker.")
        XCTAssertEqual(configuration.outputs.first?.region, "us-west-2")
        XCTAssertEqual(configuration.outputs.first?.logStreamName, "fixed")
        XCTAssertEqual(configuration.outputs.first?.endpoint.absoluteString, "http://127.0.0.1:4566")
    }

    func testIngestMaxPendingBytesIsASizeWith64MiBByDefault() throws {
        XCTAssertEqual(try load(minimal).service.ingestMaxPendingBytes, 64 << 20)
        XCTAssertEqual(try load("[SERVICE]\n    ingest.max_pending_bytes 8M\n" + minimal).service.ingestMaxPendingBytes, 8 << 20)
        assertError("[SERVICE]\n    ingest.max_pending_bytes 0\n", line: 2, contains: "ingest.max_pending_bytes")
        assertError("[SERVICE]\n    ingest.max_pending_bytes lots\n", line: 2, contains: "must be a size such as 512K")
    }

    func testIngestMaxReceiveBytesIsASizeWith64MiBByDefaultAndFrameTimeoutAMinute() throws {
        XCTAssertEqual(try load(minimal).service.ingestMaxReceiveBytes, 64 << 20)
        XCTAssertEqual(try load("[SERVICE]\n    ingest.max_receive_bytes 8M\n" + minimal).service.ingestMaxReceiveBytes, 8 << 20)
        assertError("[SERVICE]\n    ingest.max_receive_bytes 0\n", line: 2, contains: "ingest.max_receive_bytes")
        XCTAssertEqual(try load(minimal).inputs.first?.frameTimeout, 60)
        XCTAssertEqual(try load(minimal.replacingOccurrences(of: "Name forward", with: "Name forward\n    Frame_Timeout 2.5")).inputs.first?.frameTimeout, 2.5)
        XCTAssertEqual(try load(minimal.replacingOccurrences(of: "Name forward", with: "Name forward\n    Frame_Timeout 0")).inputs.first?.frameTimeout, 0)
        assertError("[INPUT]\n    Name forward\n    Frame_Timeout soon\n", line: 3, contains: "Frame_Timeout must be a number of seconds")
    }

    func testEventLoopsAreOnePerCoreAtMostFourByDefault() throws {
        XCTAssertEqual(try load(minimal).inputs.first?.eventLoops, min(ProcessInfo.processInfo.activeProcessorCount, 4))
        XCTAssertEqual(try load(minimal.replacingOccurrences(of: "Name forward", with: "Name forward\n    Event_Loops 3")).inputs.first?.eventLoops, 3)
        assertError("[INPUT]\n    Name forward\n    Event_Loops 0\n", line: 3, contains: "whole number from 1 to 64")
    }

    func testEndpointComesFromTheEnvironmentInSDKOrder() throws {
        let both = try load(minimal, environment: ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": "http://b:2"])
        XCTAssertEqual(both.outputs.first?.endpoint.absoluteString, "http://b:2")
        let general = try load(minimal, environment: ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://a:1"])
        XCTAssertEqual(general.outputs.first?.endpoint.absoluteString, "http://a:1")
    }

    func testUnknownKeyIsAWarningWithFileAndLine() throws {
        let configuration = try load(minimal + "\n    colour blue\n")
        let warning = try XCTUnwrap(configuration.notices.first { $0.level == .warning })
        XCTAssertEqual(warning.location.line, 7)
        XCTAssertTrue(warning.location.file.hasSuffix("test.conf"))
        XCTAssertTrue(warning.message.contains("unknown key colour"), warning.message)
    }

    func testEachErrorKindNamesItsLineAndWhatWasExpected() {
        assertError("[INPUT]\n    Name forward\n    Buffer_Max_Size lots\n", line: 3, contains: "must be a size such as 512K")
        assertError("[INPUT]\n    Name forward\n    Port 99999\n", line: 3, contains: "whole number from 0 to 65535")
        assertError("[SERVICE]\n    Flush soon\n", line: 2, contains: "number of seconds")
        assertError("[SERVICE]\n    Log_Level loud\n", line: 2, contains: "Log_Level must be one of")
        assertError("[SERVICE]\n    storage.sync sometimes\n", line: 2, contains: "storage.sync must be full or normal")
        assertError("[OUTPUTS]\n", line: 1, contains: "unknown section [OUTPUTS]")
        assertError("Name forward\n", line: 1, contains: "outside any section")
        assertError("[INPUT]\n    Name tail\n", line: 1, contains: "input plugin tail is not supported")
        assertError("[INPUT]\n    Name forward\n    Port\n", line: 3, contains: "has no value")
        assertError("[FILTER]\n    Name rewrite_tag\n    Match *\n    Rule $a ^x$ out\n", line: 4, contains: "expected 4 space-separated parts")
        assertError("[FILTER]\n    Name grep\n", line: 1, contains: "filter plugin grep is not supported")
        assertError("[FILTER]\n    Name modify\n    Rename onlyone\n", line: 3, contains: "Rename expects KEY VALUE")
        assertError(minimal + "\n    auto_create_group maybe\n", line: 7, contains: "must be On or Off")
        assertError(minimal + "\n    endpoint ftp://x\n", line: 7, contains: "http or https URL")
        assertError("@INCLUDE missing.conf\n", line: 1, contains: "cannot read included file")
        assertError("[OUTPUT]\n    Name cloudwatch_logs\n    log_stream_prefix p\n", line: 1, contains: "needs log_group_name")
        assertError("[OUTPUT]\n    Name cloudwatch_logs\n    log_group_name g\n    log_group_template /x/$a[\n    log_stream_prefix p\n", line: 4, contains: "invalid record accessor")
    }

    func testMissingRegionIsAnError() {
        XCTAssertThrowsError(try load(minimal, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("needs region"), "\(error)")
        }
    }

    func testOutputsAreNamedByTheirAliasElseByTheirPlace() throws {
        let output = { (alias: String) in "[OUTPUT]\n    Name cloudwatch_logs\n\(alias)    log_group_name g\n    log_stream_prefix p-\n" }
        let configuration = try load(minimal + "\n" + output("    Alias europe\n") + output(""))
        XCTAssertEqual(configuration.outputs.map(\.output.name), ["cloudwatch_logs.0", "europe", "cloudwatch_logs.2"])
        XCTAssertEqual(configuration.outputs.map(\.output.index), [0, 1, 2])
        assertError(minimal + "\n" + output("    Alias cloudwatch_logs.0\n"), line: 7, contains: "two outputs are called cloudwatch_logs.0 (outputs 0 and 1)")
    }

    func testStreamsOfAnOlderSpoolGoToTheOutputThatSentThemBefore() throws {
        let configuration = try load(minimal + """

            [OUTPUT]
                Name cloudwatch_logs
                Alias templated
                log_group_name fallback
                log_group_template /aws/$cluster
                log_stream_prefix p-
            [OUTPUT]
                Name cloudwatch_logs
                Alias named
                log_group_name named-group
                log_stream_prefix p-
            """)
        let owner = LegacyStreamOwnership.rule(for: configuration.outputs)
        XCTAssertEqual(owner("g").name, "cloudwatch_logs.0", "its log_group_name")
        XCTAssertEqual(owner("named-group").name, "templated", "the first output with a template comes before a later name")
        XCTAssertEqual(owner("/aws/prod").name, "templated")
        XCTAssertEqual(LegacyStreamOwnership.rule(for: [configuration.outputs[2]])("other").index, 2, "none fits: the first output")
    }
}
