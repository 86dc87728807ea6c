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
