import Foundation

/// The proxy the environment names for a URL, the way curl and the AWS SDKs read
/// it: `HTTPS_PROXY` (or `https_proxy`) for https, `HTTP_PROXY` (or `http_proxy`)
/// for http, unless `NO_PROXY` (or `no_proxy`) lists the host: `*`, the host
/// itself, or a domain it ends in (with or without the leading dot).
///
/// The shipper's own transport does not speak to proxies; an endpoint behind
/// one goes through `URLSession`, whose libcurl does.
enum ProxyEnvironment {
    static func proxy(for url: URL, environment: [String: String]) -> String? {
        let names = url.scheme?.lowercased() == "https" ? ["HTTPS_PROXY", "https_proxy"] : ["HTTP_PROXY", "http_proxy"]
        guard let proxy = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return nil }
        let host = (url.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let exempt = (environment["NO_PROXY"] ?? environment["no_proxy"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        for entry in exempt where !entry.isEmpty {
            if entry == "*" { return nil }
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if host == domain || host.hasSuffix("." + domain) { return nil }
        }
        return proxy
    }
}
