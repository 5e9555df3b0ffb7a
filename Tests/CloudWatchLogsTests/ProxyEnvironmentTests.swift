import Foundation
import XCTest
@testable import CloudWatchLogs

/// Which endpoints the environment sends through a proxy (and so through `URLSession`).
final class ProxyEnvironmentTests: XCTestCase {
    private let logs = URL(string: "https://logs.eu-west-1.amazonaws.com")!

    func testTheSchemeChoosesTheVariableAndEitherCaseCounts() {
        XCTAssertNil(ProxyEnvironment.proxy(for: logs, environment: [:]))
        XCTAssertEqual(ProxyEnvironment.proxy(for: logs, environment: ["HTTPS_PROXY": "http://proxy:3128"]), "http://proxy:3128")
        XCTAssertEqual(ProxyEnvironment.proxy(for: logs, environment: ["https_proxy": "http://proxy:3128"]), "http://proxy:3128")
        XCTAssertNil(ProxyEnvironment.proxy(for: logs, environment: ["HTTP_PROXY": "http://proxy:3128"]), "http_proxy is for http endpoints")
        XCTAssertEqual(ProxyEnvironment.proxy(for: URL(string: "http://127.0.0.1:4566")!, environment: ["http_proxy": "http://p:1"]), "http://p:1")
        XCTAssertNil(ProxyEnvironment.proxy(for: logs, environment: ["HTTPS_PROXY": ""]), "an empty variable names no proxy")
    }

    func testNoProxyExemptsTheHostItsDomainsAndEverythingWithAStar() {
        let proxied = ["HTTPS_PROXY": "http://proxy:3128"]
        for exempt in ["*", "logs.eu-west-1.amazonaws.com", "amazonaws.com", ".amazonaws.com", "example.org, AMAZONAWS.COM"] {
            XCTAssertNil(ProxyEnvironment.proxy(for: logs, environment: proxied.merging(["NO_PROXY": exempt]) { $1 }), exempt)
        }
        XCTAssertNil(ProxyEnvironment.proxy(for: logs, environment: proxied.merging(["no_proxy": "amazonaws.com"]) { $1 }))
        for other in ["example.org", "zonaws.com", "eu-west-1"] {
            XCTAssertNotNil(ProxyEnvironment.proxy(for: logs, environment: proxied.merging(["NO_PROXY": other]) { $1 }), other)
        }
        XCTAssertNil(ProxyEnvironment.proxy(for: URL(string: "https://[::1]:8443")!, environment: proxied.merging(["NO_PROXY": "::1"]) { $1 }))
    }
}
