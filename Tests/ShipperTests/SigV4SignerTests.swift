import XCTest
@testable import Shipper

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
}
