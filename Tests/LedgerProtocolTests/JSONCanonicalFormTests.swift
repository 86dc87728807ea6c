import LedgerProtocol
import NIOCore
import Testing

/// One rendering of metadata, as SQLite's text and PostgreSQL's jsonb would both come out.
@Suite struct JSONCanonicalFormTests {
    @Test(arguments: [
        (#"{"index": 2, "duration_ms": 30000}"#, #"{"duration_ms":30000,"index":2}"#),
        // What PostgreSQL's jsonb returns for the same document reads the same.
        (#"{"index": 2, "duration_ms": 30000}"#, #"{"duration_ms":30000,"index":2}"#),
        (#"{"b":{"z":[1, 2 ,{"y":null,"x":true}]},"a":"\u00e9\/"}"#, #"{"a":"é/","b":{"z":[1,2,{"x":true,"y":null}]}}"#),
        (#"{"k":1,"k":2}"#, #"{"k":2}"#),
        (#"{"n":1e3,"m":1.50,"p":1.5e-3,"q":-0,"r":0e5,"s":12.5E+1,"t":-0.0}"#, #"{"m":1.50,"n":1000,"p":0.0015,"q":0,"r":0,"s":125,"t":0.0}"#),
        (#"{"c":"\n\t\"\\\u0001","e":"\ud83c\udfac"}"#, #"{"c":"\n\t\"\\\u0001","e":"🎬"}"#),
        ("{ }", "{}"),
    ])
    func rendersOneForm(text: String, expected: String) {
        #expect(JSONCanonicalForm.render(text) == expected)
        #expect(JSONCanonicalForm.render(expected) == expected, "the form is a fixed point")
    }

    /// jsonb's own text for a document: keys by length then bytes, a space after ':' and ','.
    @Test func postgresJsonbTextAndTheOriginalRenderAlike() {
        let sent = #"{"reason": "codec", "clips": [1, 2], "attempt": 1e0}"#
        let jsonb = #"{"clips": [1, 2], "reason": "codec", "attempt": 1}"#
        #expect(JSONCanonicalForm.render(sent) == JSONCanonicalForm.render(jsonb))
    }

    @Test(arguments: ["", "{", #"{"a":}"#, "[1,]", #"{"a":1}x"#, #"{"a":"\x"}"#])
    func leavesInvalidTextAlone(text: String) {
        #expect(JSONCanonicalForm.render(text) == nil)
    }

    @Test func aTailBatchCarriesWhereToResume() throws {
        let batch = TailBatch(missed: 3, events: [], next: TailCursor(sequence: 42))
        var buffer = ByteBuffer()
        batch.encode(into: &buffer)
        let decoded = try TailBatch.decode(from: &buffer)
        #expect(decoded.next == TailCursor(sequence: 42) && decoded.missed == 3)
    }
}
