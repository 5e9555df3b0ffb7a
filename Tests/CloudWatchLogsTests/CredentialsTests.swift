import XCTest
@testable import CloudWatchLogs

final class CredentialsTests: XCTestCase {
    func testProfileFilesFollowTheSDKRules() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
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

    /// The AWS SDKs' rule for `AWS_CONTAINER_CREDENTIALS_FULL_URI`: https anywhere, plain http
    /// only to loopback and the ECS and EKS agents, so the authorization token goes nowhere else.
    func testFullURIHostsFollowTheSDKRule() async throws {
        let allowed = ["https://credentials.example.com/creds", "http://127.0.0.1:51679/creds", "http://127.1.2.3/creds", "http://localhost/creds",
                       "http://[::1]:8080/creds", "http://169.254.170.2/v2/credentials/x", "http://169.254.170.23/v1/credentials",
                       "http://[fd00:ec2::23]/v1/credentials", "HTTPS://Example.com/"]
        for uri in allowed {
            XCTAssertNil(ContainerCredentialsProvider.refusal(of: uri), uri)
        }
        let refused = ["http://credentials.example.com/creds", "http://169.254.169.254/latest", "http://10.0.0.1/creds",
                       "http://127.0.0.1.evil.example/creds", "http://[fd00:ec2::24]/", "ftp://127.0.0.1/creds", "not a url", "http:///creds"]
        for uri in refused {
            XCTAssertNotNil(ContainerCredentialsProvider.refusal(of: uri), uri)
        }
        let provider = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://attacker.example/creds",
                                                                  "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret"])
        XCTAssertTrue(provider.isConfigured, "a refused FULL_URI is reported, not skipped silently")
        do {
            _ = try await provider.credentials()
            XCTFail("a refused FULL_URI must not be asked")
        } catch let error as CredentialsError {
            XCTAssertTrue(error.reason.contains("only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23"), error.reason)
        }
    }
}
