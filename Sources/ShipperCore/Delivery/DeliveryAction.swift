import CloudWatchLogs

/// What a sender does about a failed PutLogEvents call: the one table from
/// CloudWatch error to action, read by the uploaders and by replay alike, so
/// the two can never disagree about which errors are worth a retry, which
/// mean the events are already stored and which refuse them for good.
///
/// Each sender applies an action its own way (an uploader retries without
/// end, a replay run by an operator stops after a few attempts), but never
/// decides by itself what an error means.
public enum DeliveryAction: Equatable, Sendable {
    /// The endpoint failed or gave no usable answer (a 5xx, a reset, a timeout):
    /// retry with backoff, sooner once the endpoint is seen to recover.
    case retry
    /// The account's request rate is exceeded: retry with backoff, and not
    /// sooner when other calls succeed, since that does not end the throttling.
    case retryThrottled
    /// Access is denied or the keys are refused: retry slowly, it needs an operator.
    case retrySlowly
    /// The log group or stream does not exist: create it, then send the batch again.
    case createDestination
    /// The stream expects another sequence token (the pre-2023 service): send again with it.
    case resendWithToken(ExpectedSequenceToken)
    /// The service refuses the batch as sent: send half of its records, until the one it refuses stands alone.
    case splitBatch
    /// The service refuses this lone event for good: its record goes to dead letters with `reason`.
    case deadLetter(reason: String)
    /// The service already holds these events (a resend of an accepted batch): as good as a success.
    case treatAsDelivered

    /// The token an `InvalidSequenceTokenException` asks for.
    public enum ExpectedSequenceToken: Equatable, Sendable {
        /// The service named it.
        case token(String)
        /// The service said the stream has none yet (`null`): send without one.
        case noToken
        /// The answer did not say: ask DescribeLogStreams.
        case unknown
    }

    /// The action for `error`, raised by a batch holding `batchRecords` records
    /// (events sent and records kept out of the call): splitting needs more than one.
    public init(for error: CloudWatchError, batchRecords: Int) {
        switch error.serviceType {
        case "ResourceNotFoundException":
            self = .createDestination
        case "DataAlreadyAcceptedException":
            self = .treatAsDelivered
        case "InvalidSequenceTokenException":
            self = .resendWithToken(Self.expectedToken(error))
        case "InvalidParameterException":
            self = batchRecords > 1 ? .splitBatch : .deadLetter(reason: "invalid: \(error)")
        case "ThrottlingException":
            self = .retryThrottled
        default:
            self = error.isAuthorization ? .retrySlowly : .retry
        }
    }

    /// `expectedSequenceToken` when the answer has it, else the last word of the
    /// message ("... The next expected sequenceToken is: 49590..."), `null` meaning none.
    private static func expectedToken(_ error: CloudWatchError) -> ExpectedSequenceToken {
        if let token = error.expectedSequenceToken { return token.isEmpty ? .noToken : .token(token) }
        guard case .service(_, let message, _) = error.kind, let last = message.split(separator: " ").last else { return .unknown }
        return last == "null" ? .noToken : .token(String(last))
    }
}
