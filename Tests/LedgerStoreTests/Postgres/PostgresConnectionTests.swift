import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// The statements every commit runs are prepared once a session: a commit that rolls back, or a
/// session lost and opened again, must not leave the writer naming a statement the server no longer has.
@Suite struct PostgresConnectionTests {
    static let next = "SELECT $1::bigint + 1"

    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aPreparedStatementOutlivesARollbackAndIsPreparedAgainInANewSession() throws {
        let uri = try #require(TestPostgres.uri, "set LEDGER_TEST_POSTGRES_URI (scripts/dev-postgres.sh start DIR prints one)")
        let connection = try PostgresConnection(info: try PostgresConnectionInfo(uri))
        #expect(try connection.executePrepared(Self.next, ["1"], as: .queryFailed).text(0, 0) == "2")

        // Prepared for the first time inside a transaction that then rolls back.
        let other = "SELECT $1::text || '!'"
        _ = try connection.execute("BEGIN", as: .queryFailed)
        #expect(try connection.executePrepared(other, ["a"], as: .queryFailed).text(0, 0) == "a!")
        _ = try connection.execute("ROLLBACK", as: .queryFailed)
        #expect(try connection.executePrepared(other, ["b"], as: .queryFailed).text(0, 0) == "b!")
        #expect(try connection.executePrepared(Self.next, ["2"], as: .queryFailed).text(0, 0) == "3")
        let names = try connection.execute("SELECT count(*) FROM pg_prepared_statements", as: .queryFailed)
        #expect(names.text(0, 0) == "2")

        // The server ends the session: the next statement runs in a new one, prepared there again.
        _ = try? connection.execute("SELECT pg_terminate_backend(pg_backend_pid())", as: .queryFailed)
        try connection.reconnectIfBroken()
        #expect(try connection.executePrepared(Self.next, ["41"], as: .queryFailed).text(0, 0) == "42")
    }

    /// A commit's leaf records go as raw bytes: every byte value, zeros included, arrives as sent,
    /// beside text parameters and NULL in the same statement.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func bytesGoAsTheyAreBesideTextAndNull() throws {
        let uri = try #require(TestPostgres.uri, "set LEDGER_TEST_POSTGRES_URI (scripts/dev-postgres.sh start DIR prints one)")
        let connection = try PostgresConnection(info: try PostgresConnectionInfo(uri))
        let sql = "SELECT encode($1::bytea, 'hex'), length($1::bytea), $2::text || '!', $3::text IS NULL, encode($4::bytea, 'hex')"
        let every = (0...255).map { UInt8($0) } + [0, 0, 0]
        let result = try connection.executePrepared(sql, [.bytes(every), .text("x"), .text(nil), .bytes([])], as: .queryFailed)
        #expect(result.text(0, 0) == every.map { String(format: "%02x", $0) }.joined())
        #expect(result.text(0, 1) == "259")
        #expect(result.text(0, 2) == "x!")
        #expect(result.text(0, 3) == "t")
        #expect(result.text(0, 4) == "")
    }
}
