import Foundation
import Records

/// AWS Signature Version 4 for requests without a query string.
///
/// CloudWatch Logs requests are `POST` to the endpoint's path (`/` unless the
/// endpoint names one, as a proxy or a VPC endpoint may) without a query
/// string, which keeps canonicalisation to the path, headers and body.
/// Checked against AWS's published test vectors
/// (Tests/CloudWatchLogsTests/Fixtures/sigv4-test-vectors.json).
public struct SigV4Signer: Sendable {
    let region: String
    let service: String

    /// The `Authorization` header value for `method` on `path` (as sent on the
    /// wire, percent-encoded) with `headers` (which must include `Host` and
    /// `X-Amz-Date`, and `X-Amz-Security-Token` when there is one) and `body`.
    func authorization(method: String = "POST", path: String = "/", headers: [(name: String, value: String)], body: some ContiguousBytes,
                       credentials: AWSCredentials, amzDate: String) -> String {
        let canonical = headers
            .map { (name: $0.name.lowercased(), value: $0.value.trimmingCharacters(in: .whitespaces)) }
            .sorted { $0.name < $1.name }
        let signedHeaders = canonical.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            method,
            Self.canonicalURI(path),
            "",
            canonical.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            Digest.hex(Digest.sha256(body)),
        ].joined(separator: "\n")

        let date = String(amzDate.prefix(8))
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            amzDate,
            scope,
            Digest.hex(Digest.sha256(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = Digest.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(date.utf8))
        for part in [region, service, "aws4_request"] {
            key = Digest.hmacSHA256(key: key, data: Array(part.utf8))
        }
        let signature = Digest.hex(Digest.hmacSHA256(key: key, data: Array(stringToSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// The path as SigV4 signs it for every service but S3: the path as sent
    /// (already percent-encoded) encoded once more, every byte but the
    /// unreserved ones and `/`; an empty path is `/`.
    static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        var result = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "/"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func amzDate(_ date: Date) -> String {
        let t = UTCDateTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        let p = UTCDateTime.padded
        return "\(t.year)\(p(t.month, 2))\(p(t.day, 2))T\(p(t.hour, 2))\(p(t.minute, 2))\(p(t.second, 2))Z"
    }
}
