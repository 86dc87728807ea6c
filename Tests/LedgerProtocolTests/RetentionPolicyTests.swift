import LedgerProtocol
import Testing

/// `--retain`: what parses, what each rule decides, and the one line that names a bad rule.
@Suite struct RetentionPolicyTests {
    @Test func parsesSeveritiesTypesAgesAndForever() throws {
        let policy = try RetentionPolicy(parsing: " INFO=30d, warn=180d ,ERROR=forever,video_uploaded=2y,job_created=12h,clip_created=90min,x=45s,y=3w")
        #expect(
            policy.rules == [
                .init(selector: .severity(.info), keep: .seconds(30 * 86_400)),
                .init(selector: .severity(.warn), keep: .seconds(180 * 86_400)),
                .init(selector: .severity(.error), keep: nil),
                .init(selector: .eventType("video_uploaded"), keep: .seconds(2 * 365 * 86_400)),
                .init(selector: .eventType("job_created"), keep: .seconds(12 * 3_600)),
                .init(selector: .eventType("clip_created"), keep: .seconds(90 * 60)),
                .init(selector: .eventType("x"), keep: .seconds(45)),
                .init(selector: .eventType("y"), keep: .seconds(21 * 86_400)),
            ])
        #expect(policy.description == "INFO=30d,WARN=180d,ERROR=forever,video_uploaded=2y,job_created=12h,clip_created=90min,x=45s,y=3w")
        #expect(try RetentionPolicy(parsing: policy.description) == policy, "what it prints parses back to itself")
        #expect(policy.expiringRules.count == 7)
    }

    @Test(arguments: ["", "forever", "  forever "])
    func keepsEverythingByDefault(text: String) throws {
        let policy = try RetentionPolicy(parsing: text)
        #expect(policy == .keepEverything && policy.rules.isEmpty && policy.description == "forever")
        #expect(policy.rule(forEventType: "video_uploaded", severity: .info) == nil)
    }

    @Test func aTypeRuleWinsOverItsSeverityAndTheRecordsAreKeptUnlessNamed() throws {
        let policy = try RetentionPolicy(parsing: "INFO=30d,WARN=180d,video_uploaded=2y")
        #expect(policy.rule(forEventType: "video_uploaded", severity: .info)?.description == "video_uploaded=2y")
        #expect(policy.rule(forEventType: "job_created", severity: .info)?.description == "INFO=30d")
        #expect(policy.rule(forEventType: ReportGap.eventType, severity: .warn)?.description == "WARN=180d", "gap records follow WARN")
        #expect(policy.rule(forEventType: "job_processing_failed", severity: .error) == nil, "ERROR has no rule: forever")
        #expect(policy.rule(forEventType: RetentionPolicy.recordEventType, severity: .warn) == nil)
        #expect(policy.typesExemptFromSeverityRules == ["video_uploaded", RetentionPolicy.recordEventType])
        let named = try RetentionPolicy(parsing: "ledger_retention=5y,ledger_gap=1y")
        #expect(named.rule(forEventType: RetentionPolicy.recordEventType, severity: .warn)?.description == "ledger_retention=5y")
        #expect(named.rule(forEventType: ReportGap.eventType, severity: .warn)?.description == "ledger_gap=1y")
    }

    /// Each bad value names its rule and what is wrong, on one line.
    @Test(arguments: [
        ("INFO=30x", "'INFO=30x'", "unknown unit 'x'"),
        ("INFO=30m", "'INFO=30m'", "say min, or d"),
        ("INFO=30", "'INFO=30'", "has no unit"),
        ("INFO=d", "'INFO=d'", "not an age"),
        ("INFO=", "'INFO='", "the age is missing"),
        ("INFO=0d", "'INFO=0d'", "at least 1s"),
        ("INFO=-3d", "'INFO=-3d'", "not an age"),
        ("INFO", "'INFO'", "NAME=AGE"),
        ("=30d", "'=30d'", "names no severity"),
        ("INFO=30d,,WARN=1y", "an empty rule", "between commas"),
        ("INFO=30d,info=2d", "'INFO=2d'", "INFO=30d already gives a rule"),
        ("job_created=1d,job_created=2d", "'job_created=2d'", "already gives a rule for event type job_created"),
        ("INFO=99999999999999999y", "'INFO=99999999999999999y'", "say forever"),
        ("INFO=1001y", "'INFO=1001y'", "longer than a thousand years"),
        ("bad\u{1}type=1d", "'bad\u{1}type=1d'", "control character"),
    ])
    func aBadValueNamesTheRule(text: String, rule: String, reason: String) {
        let problem = #expect(throws: RetentionPolicy.Problem.self) { try RetentionPolicy(parsing: text) }
        guard let problem else { return }
        #expect(problem.description.contains(rule), "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
        #expect(!problem.description.contains("\n"))
    }
}
