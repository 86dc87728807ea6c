import LedgerProtocol
import Testing

@Suite struct JSONObjectValidatorTests {
    @Test(arguments: [
        "{}", " { } ", #"{"a":1}"#, #"{"a":[1,2.5,-3e10,true,false,null,{"b":"c"}]}"#, #"{"s":"\u00e9\n\"q\""}"#,
        #"{"unicode":"日本"}"#, #"{"n":0,"m":-0.0,"e":1E+2}"#, #"{"pair":"\ud83d\ude00"}"#, #"{"upper":"\uD83D\uDE00\u0001"}"#,
    ])
    func acceptsObjects(text: String) {
        #expect(JSONObjectValidator.problem(in: text) == nil)
    }

    @Test(arguments: [
        "", "[]", "1", #""s""#, "null", "{", "{}}", "{} {}", #"{"a"}"#, #"{"a":}"#, #"{a:1}"#, #"{"a":01}"#,
        #"{"a":1,}"#, #"{"a":"\x"}"#, "{\"a\":\"\u{01}\"}", #"{"a":tru}"#, #"{"a":1.}"#, #"{"a":"\u12"}"#,
        #"{"nul":"\u0000"}"#, #"{"lone high":"\ud83d"}"#, #"{"lone low":"\ude00"}"#, #"{"high then text":"\ud83dxx"}"#,
        #"{"two highs":"\ud83d\ud83d"}"#,
    ])
    func rejectsEverythingElse(text: String) {
        #expect(JSONObjectValidator.problem(in: text) != nil)
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: #"{"a":"#, count: 100) + "1" + String(repeating: "}", count: 100)
        #expect(JSONObjectValidator.problem(in: deep)?.contains("nesting") == true)
        let fine = String(repeating: #"{"a":"#, count: 10) + "1" + String(repeating: "}", count: 10)
        #expect(JSONObjectValidator.problem(in: fine) == nil)
    }
}

/// Numbers at the edge of what PostgreSQL's jsonb keeps, and of the metadata limit once each
/// number is written out in plain decimal, as jsonb stores it.
@Suite struct JSONNumberLimitTests {
    static let limit = LedgerEvent.Limits.metadata

    /// A document `{"n":NUMBER}` whose number is written in plain decimal in `plain` bytes in all.
    static func document(plainBytes plain: Int) -> String {
        // `{"n":` and `}` take 6 bytes; `1eK` is K + 1 digits written out.
        #"{"n":1e\#(plain - 7)}"#
    }

    @Test(arguments: [
        #"{"n":1e-16383}"#, #"{"n":-1.5e-16382}"#, #"{"n":0e1073741822}"#, #"{"n":0e-1}"#, #"{"n":12.5e1}"#,
        "{\"n\":0." + String(repeating: "0", count: 16_383) + "}",
        "{\"n\":1" + String(repeating: "0", count: 60_000) + "}",
    ])
    func keepsNumbersBothStoresKeep(text: String) {
        #expect(JSONObjectValidator.problem(in: text, maximumPlainBytes: Self.limit) == nil)
    }

    @Test(arguments: [
        (#"{"n":1e-16384}"#, "digits after the decimal point"),
        (#"{"n":0e-16384}"#, "digits after the decimal point"),
        (#"{"n":10e-16384}"#, "digits after the decimal point"),
        (#"{"n":1e-999999}"#, "digits after the decimal point"),
        ("{\"n\":0." + String(repeating: "1", count: 20_000) + "}", "digits after the decimal point"),
        (#"{"n":0e1073741823}"#, "exponent"),
        (#"{"n":1e99999999999999999999}"#, "exponent"),
        (#"{"n":1e999999}"#, "written out in full"),
        (#"{"n":1e131072}"#, "written out in full"),
    ])
    func refusesNumbersAStoreWouldRefuse(text: String, reason: String) {
        let problem = JSONObjectValidator.problem(in: text, maximumPlainBytes: Self.limit)
        #expect(problem?.contains(reason) == true, "\(problem ?? "accepted")")
    }

    @Test func theMetadataLimitCountsNumbersWrittenOut() {
        #expect(JSONObjectValidator.problem(in: Self.document(plainBytes: Self.limit), maximumPlainBytes: Self.limit) == nil)
        #expect(JSONObjectValidator.problem(in: Self.document(plainBytes: Self.limit + 1), maximumPlainBytes: Self.limit) != nil)
        // Many small exponents add up as well.
        let many = "{\"a\":[" + Array(repeating: "1e99", count: 700).joined(separator: ",") + "]}"
        #expect(JSONObjectValidator.problem(in: many, maximumPlainBytes: Self.limit) != nil)
        #expect(JSONObjectValidator.problem(in: many) == nil, "without a limit only the syntax is checked")
    }

    /// The lengths PostgreSQL 15 prints for these numbers in jsonb: 0, 0, 0, 125, 0.0125, 120…0, 0.0000000, 0.0012, -100, 0.
    @Test(arguments: [
        ("0", 1), ("-0", 1), ("-0.0e2", 1), ("12.5e1", 3), ("12.5e-3", 6), ("1.2e20", 21), ("0.00e-5", 9), ("0.0012", 6), ("-1e2", 4),
        ("0e999", 1),
    ])
    func plainLengthIsWhatPostgreSQLPrints(number: String, length: Int) {
        let document = "{\"n\":\(number)}"
        // `{"n":` and `}` are 6 bytes of the document.
        #expect(JSONObjectValidator.problem(in: document, maximumPlainBytes: 6 + length) == nil)
        #expect(JSONObjectValidator.problem(in: document, maximumPlainBytes: 6 + length - 1) != nil)
    }
}
