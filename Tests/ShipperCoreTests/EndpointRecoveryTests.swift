import XCTest
@testable import ShipperCore

final class EndpointRecoveryTests: XCTestCase {
    func testAnEndpointThatDoesNotThrottleAdmitsEveryStream() {
        let recovery = EndpointRecovery()
        XCTAssertEqual(recovery.admit(), .go(probe: false))
        XCTAssertEqual(recovery.admit(), .go(probe: false))
    }

    func testAThrottledEndpointWaitsOutItsBackoffBeforeAnyCall() {
        let recovery = EndpointRecovery(throttleBackoff: RetryBackoff(base: 60, cap: 60))
        // Full jitter draws from 0...60 s: far from zero but for a 1-in-6,000 draw, hence the bound.
        recovery.throttled()
        guard case .wait(let seconds) = recovery.admit() else { return XCTFail("a throttled endpoint admitted a call at once") }
        XCTAssertLessThanOrEqual(seconds, 60)
    }

    func testOneProbeAtATimeThenEveryStreamOnSuccess() {
        let recovery = EndpointRecovery(throttleBackoff: RetryBackoff(base: 0, cap: 0), probePatience: 3600)
        recovery.throttled()
        XCTAssertEqual(recovery.admit(), .go(probe: true), "once the backoff ran out, one stream probes")
        XCTAssertEqual(recovery.admit(), .wait(EndpointRecovery.probeCheckSeconds), "the others wait for its answer")
        recovery.probeAbandoned()
        XCTAssertEqual(recovery.admit(), .go(probe: true), "a probe that made no call lets another probe")
        let before = recovery.count
        recovery.succeeded()
        XCTAssertEqual(recovery.count, before + 1, "the end of a throttle wakes the waiting streams")
        XCTAssertEqual(recovery.admit(), .go(probe: false))
        XCTAssertEqual(recovery.admit(), .go(probe: false))
    }

    func testAProbeWithoutAnAnswerForItsPatienceLetsAnotherProbe() {
        let patient = EndpointRecovery(throttleBackoff: RetryBackoff(base: 0, cap: 0), probePatience: 3600)
        patient.throttled()
        XCTAssertEqual(patient.admit(), .go(probe: true))
        XCTAssertEqual(patient.admit(), .wait(EndpointRecovery.probeCheckSeconds), "within its patience the probe is waited for")
        let impatient = EndpointRecovery(throttleBackoff: RetryBackoff(base: 0, cap: 0), probePatience: 0)
        impatient.throttled()
        XCTAssertEqual(impatient.admit(), .go(probe: true))
        XCTAssertEqual(impatient.admit(), .go(probe: true), "a probe that stalls past its patience does not hold every stream")
    }

    func testAFailedProbeLetsTheNextStreamProbe() {
        let recovery = EndpointRecovery(throttleBackoff: RetryBackoff(base: 0, cap: 0))
        recovery.throttled()
        XCTAssertEqual(recovery.admit(), .go(probe: true))
        recovery.failed()
        XCTAssertEqual(recovery.admit(), .go(probe: true))
    }
}
