import XCTest
@testable import Shipper

final class CredentialsTests: XCTestCase {
    func testProfileFilesFollowTheSDKRules() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = directory.appendingPathComponent("credentials").path
        let config = directory.appendingPathComponent("config").path
        try """
            # comment
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = secret-default
            """.write(toFile: credentials, atomically: true, encoding: .utf8)
        try """
            [profile ops]
            aws_access_key_id=AKIDOPS
            aws_secret_access_key=secret-ops
            aws_session_token=token-ops
            region = eu-west-1
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let base = ["AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config]
        let fallback = try await ProfileCredentialsProvider(environment: base).credentials()
        XCTAssertEqual(fallback.accessKeyID, "AKIDDEFAULT")
        let ops = try await ProfileCredentialsProvider(environment: base.merging(["AWS_PROFILE": "ops"]) { $1 }).credentials()
        XCTAssertEqual(ops.accessKeyID, "AKIDOPS")
        XCTAssertEqual(ops.sessionToken, "token-ops")
        XCTAssertFalse(ProfileCredentialsProvider(environment: base.merging(["AWS_PROFILE": "missing"]) { $1 }).isConfigured)
    }

    func testCredentialsNeverPrintTheirSecrets() {
        let keys = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI", sessionToken: "SESSIONTOKEN")
        let text = "\(keys)"
        XCTAssertFalse(text.contains("wJalrXUtnFEMI"))
        XCTAssertFalse(text.contains("SESSIONTOKEN"))
        XCTAssertFalse(text.contains("AKIDEXAMPLE"))
    }

    func testContainerAndInstanceAnswersDecode() throws {
        let json = #"{"AccessKeyId":"AKID","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-26T06:00:00Z"}"#
        let keys = try CredentialsHTTP.decodeCredentials(Data(json.utf8), source: "test")
        XCTAssertEqual(keys.accessKeyID, "AKID")
        XCTAssertEqual(keys.sessionToken, "t")
        XCTAssertEqual(keys.expiration, Date(timeIntervalSince1970: 1_795_672_800))
        XCTAssertThrowsError(try CredentialsHTTP.decodeCredentials(Data("{}".utf8), source: "test"))
    }

    func testSTSAnswerParsing() {
        let xml = "<AssumeRoleWithWebIdentityResponse><Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken></Credentials></AssumeRoleWithWebIdentityResponse>"
        XCTAssertEqual(WebIdentityCredentialsProvider.element("AccessKeyId", in: xml), "ASIA")
        XCTAssertNil(WebIdentityCredentialsProvider.element("Missing", in: xml))
    }

    func testHTTPDateParsingForClockSkew() {
        XCTAssertEqual(CloudWatchLogsClient.parseHTTPDate("Sun, 30 Aug 2015 12:36:00 GMT"), Date(timeIntervalSince1970: 1_440_938_160))
    }
}
