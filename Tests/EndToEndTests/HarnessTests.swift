import Foundation
import LedgerTestSupport
import Testing

/// The harness's own promises: a tool that never ends fails its test instead of hanging the suite.
@Suite struct HarnessTests {
    @Test func aToolStillRunningAtItsDeadlineIsKilled() throws {
        let started = ContinuousClock.now
        let result = try Subprocess.run(["sleep", "60"], deadline: 1)
        #expect(result.status == 128 + SIGKILL)
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
