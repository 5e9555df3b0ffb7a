import CloudWatchLogs
import XCTest
@testable import ShipperCore

/// The table from CloudWatch error to action, row by row: the uploaders and replay both read it.
final class DeliveryActionTests: XCTestCase {
    private func service(_ type: String, _ message: String = "", status: Int = 400, expected: String? = nil) -> CloudWatchError {
        CloudWatchError(operation: "PutLogEvents", kind: .service(type: type, message: message, status: status), expectedSequenceToken: expected)
    }

    func testAMissingGroupOrStreamIsCreated() {
        XCTAssertEqual(DeliveryAction(for: service("ResourceNotFoundException"), batchRecords: 3), .createDestination)
    }

    func testEventsTheServiceAlreadyHoldsCountAsDelivered() {
        XCTAssertEqual(DeliveryAction(for: service("DataAlreadyAcceptedException"), batchRecords: 3), .treatAsDelivered)
    }

    func testARefusedBatchIsSplitUntilTheRefusedEventStandsAloneAndGoesToDeadLetters() {
        let error = service("InvalidParameterException", "rejected message: POISON")
        XCTAssertEqual(DeliveryAction(for: error, batchRecords: 2), .splitBatch)
        XCTAssertEqual(DeliveryAction(for: error, batchRecords: 1),
                       .deadLetter(reason: "invalid: PutLogEvents: InvalidParameterException (HTTP 400): rejected message: POISON"))
    }

    func testTheExpectedSequenceTokenComesFromTheFieldThenTheMessage() {
        let named = "The given sequenceToken is invalid. The next expected sequenceToken is: 4959"
        XCTAssertEqual(DeliveryAction(for: service("InvalidSequenceTokenException", named, expected: "17"), batchRecords: 1), .resendWithToken(.token("17")))
        XCTAssertEqual(DeliveryAction(for: service("InvalidSequenceTokenException", named), batchRecords: 1), .resendWithToken(.token("4959")))
        XCTAssertEqual(DeliveryAction(for: service("InvalidSequenceTokenException", "The next expected sequenceToken is: null"), batchRecords: 1),
                       .resendWithToken(.noToken))
        XCTAssertEqual(DeliveryAction(for: service("InvalidSequenceTokenException", expected: ""), batchRecords: 1), .resendWithToken(.noToken))
        XCTAssertEqual(DeliveryAction(for: service("InvalidSequenceTokenException"), batchRecords: 1), .resendWithToken(.unknown))
    }

    func testThrottlingIsRetriedWithoutWaitingForTheEndpointToRecover() {
        XCTAssertEqual(DeliveryAction(for: service("ThrottlingException", "Rate exceeded"), batchRecords: 1), .retryThrottled)
    }

    func testRefusedAccessOrKeysAreRetriedSlowly() {
        for type in ["AccessDeniedException", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId", "IncompleteSignature"] {
            XCTAssertEqual(DeliveryAction(for: service(type), batchRecords: 1), .retrySlowly, type)
        }
        XCTAssertEqual(DeliveryAction(for: CloudWatchError(operation: "PutLogEvents", kind: .credentials("no credentials in the chain")), batchRecords: 1),
                       .retrySlowly)
    }

    func testOutagesAndUnknownAnswersAreRetried() {
        let errors = [
            service("ServiceUnavailableException", status: 503),
            service("InternalFailure", status: 500),
            service("SomeNewException"),
            CloudWatchError(operation: "PutLogEvents", kind: .transport("connection reset by peer")),
            CloudWatchError(operation: "PutLogEvents", kind: .badResponse(status: 502, body: "<html>")),
        ]
        for error in errors {
            XCTAssertEqual(DeliveryAction(for: error, batchRecords: 5), .retry, "\(error)")
        }
    }
}
