import Foundation
import Records

/// The JSON bodies of the CloudWatch Logs calls, written straight into bytes
/// with the records' own string escaping: a batch of 10,000 events is encoded
/// without a Foundation object per event.
enum RequestBody {
    /// PutLogEvents: group, stream, the token when the service still wants one, the events in order.
    static func putLogEvents(group: String, stream: String, events: [InputLogEvent], sequenceToken: String?) -> Data {
        var body: [UInt8] = []
        body.reserveCapacity(events.reduce(128) { $0 + $1.message.count + 40 })
        body.append(contentsOf: #"{"logGroupName":"#.utf8)
        RecordJSON.appendString(Array(group.utf8), to: &body)
        body.append(contentsOf: #","logStreamName":"#.utf8)
        RecordJSON.appendString(Array(stream.utf8), to: &body)
        if let sequenceToken {
            body.append(contentsOf: #","sequenceToken":"#.utf8)
            RecordJSON.appendString(Array(sequenceToken.utf8), to: &body)
        }
        body.append(contentsOf: #","logEvents":["#.utf8)
        for (i, event) in events.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: #"{"timestamp":"#.utf8)
            body.append(contentsOf: String(event.timestamp).utf8)
            body.append(contentsOf: #","message":"#.utf8)
            RecordJSON.appendString(event.message, to: &body)
            body.append(UInt8(ascii: "}"))
        }
        body.append(contentsOf: "]}".utf8)
        return Data(body)
    }

    /// A flat object of strings, keys sorted (CreateLogGroup, CreateLogStream, tags, ...).
    static func object(_ fields: [String: String]) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "{")]
        for (i, key) in fields.keys.sorted().enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            RecordJSON.appendString(Array(key.utf8), to: &body)
            body.append(UInt8(ascii: ":"))
            RecordJSON.appendString(Array(fields[key, default: ""].utf8), to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
