import XCTest
@testable import CloudWatchLogs

/// AWS's published Signature Version 4 test vectors (see the fixture's "source").
final class SigV4SignerTests: XCTestCase {
    private struct Vectors: Decodable {
        struct Case: Decodable {
            var name: String
            var headers: [[String]]
            var body: String
            var authorization: String
        }
        var accessKeyId: String
        var secretAccessKey: String
        var region: String
        var service: String
        var date: String
        var cases: [Case]
    }

    func testAWSTestVectors() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "sigv4-test-vectors", withExtension: "json", subdirectory: "Fixtures"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        let signer = SigV4Signer(region: vectors.region, service: vectors.service)
        XCTAssertEqual(vectors.cases.count, 4)
        for testCase in vectors.cases {
            let token = testCase.headers.first { $0[0] == "X-Amz-Security-Token" }?[1]
            let credentials = AWSCredentials(accessKeyID: vectors.accessKeyId, secretAccessKey: vectors.secretAccessKey, sessionToken: token)
            let authorization = signer.authorization(headers: testCase.headers.map { (name: $0[0], value: $0[1]) },
                                                     body: Array(testCase.body.utf8), credentials: credentials, amzDate: vectors.date)
            XCTAssertEqual(authorization, testCase.authorization, testCase.name)
        }
    }

    func testAmzDateIsUTC() {
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)), "20150830T123600Z")
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_782_400)), "20000229T000000Z")
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)), "19700101T000000Z")
    }

    /// The path cases of AWS's original SigV4 suite (as botocore ships them, `get-space` and
    /// `get-utf8`): the path as sent is encoded once more, so `%20` is signed as `%2520`.
    func testAWSPathVectorsSignTheEncodedPathEncodedAgain() {
        let signer = SigV4Signer(region: "us-east-1", service: "host")
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: nil)
        let headers = [(name: "Date", value: "Mon, 09 Sep 2011 23:36:00 GMT"), (name: "Host", value: "host.foo.com")]
        let cases = [
            ("/%20/foo", "/%2520/foo", "2be9e587d1ee1f0fd02128724b86b4358ba3630d39f493b6e06610a19a50779e"),
            ("/%E1%88%B4", "/%25E1%2588%25B4", "57b1eb3df3b16a8479c0097b66c0b261cfd65b829419a3f2c3d05319722490b8"),
        ]
        for (path, canonical, signature) in cases {
            XCTAssertEqual(SigV4Signer.canonicalURI(path), canonical)
            let authorization = signer.authorization(method: "GET", path: path, headers: headers, body: [UInt8](), credentials: credentials, amzDate: "20110909T233600Z")
            XCTAssertEqual(authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=\(signature)", path)
        }
        XCTAssertEqual(SigV4Signer.canonicalURI(""), "/")
        XCTAssertEqual(SigV4Signer.canonicalURI("/logs/v1-a_b.c~d"), "/logs/v1-a_b.c~d")
    }

    func testTheHostHeaderBracketsIPv6AndKeepsThePort() throws {
        XCTAssertEqual(CloudWatchLogsClient.hostHeader(try XCTUnwrap(URL(string: "http://[::1]:4566/"))), "[::1]:4566")
        XCTAssertEqual(CloudWatchLogsClient.hostHeader(try XCTUnwrap(URL(string: "https://[fd00:ec2::10]"))), "[fd00:ec2::10]")
        XCTAssertEqual(CloudWatchLogsClient.hostHeader(try XCTUnwrap(URL(string: "https://logs.us-east-1.amazonaws.com"))), "logs.us-east-1.amazonaws.com")
        XCTAssertEqual(CloudWatchLogsClient.hostHeader(try XCTUnwrap(URL(string: "http://127.0.0.1:9/proxy/logs"))), "127.0.0.1:9")
    }
}
