import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The small HTTP requests credential providers make (ECS container endpoint,
/// instance metadata, STS), with short timeouts: a missing endpoint must fail fast.
enum CredentialsHTTP {
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        configuration.timeoutIntervalForResource = 10
        return URLSession(configuration: configuration)
    }()

    static func request(_ url: URL, method: String = "GET", headers: [String: String] = [:], body: Data? = nil, source: String) async throws -> Data {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw CredentialsError(source: source, reason: "\(method) \(url.absoluteString) failed: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw CredentialsError(source: source, reason: "\(method) \(url.absoluteString) answered HTTP \(status)")
        }
        return data
    }

    /// The `AccessKeyId`/`SecretAccessKey`/`Token`/`Expiration` JSON that the ECS
    /// container endpoint and instance metadata both answer.
    static func decodeCredentials(_ data: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw CredentialsError(source: source, reason: "the answer has no AccessKeyId and SecretAccessKey")
        }
        let expiration = (object["Expiration"] as? String).flatMap(parseTime)
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"] as? String, expiration: expiration)
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
