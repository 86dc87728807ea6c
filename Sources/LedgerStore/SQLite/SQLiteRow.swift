import Foundation
import LedgerProtocol

/// A row of `ledger_events` as SQLite returns it: the timestamp is stored as integer microseconds.
struct SQLiteRow: EventRowReader {
    let statement: SQLiteStatement

    func text(_ column: Int) -> String? {
        self.statement.text(Int32(column))
    }

    func integer(_ column: Int) -> Int64? {
        self.statement.isNull(Int32(column)) ? nil : self.statement.integer(Int32(column))
    }
}

/// Binds an event's columns to the insert's parameters, one after the other.
struct SQLiteRowBinder: EventRowWriter {
    let statement: SQLiteStatement
    private var index: Int32 = 1

    init(statement: SQLiteStatement) {
        self.statement = statement
    }

    private mutating func next() -> Int32 {
        defer { self.index += 1 }
        return self.index
    }

    mutating func uuid(_ value: UUID?) { self.statement.bind(self.next(), uuid: value) }
    mutating func timestamp(_ value: LedgerTimestamp) { self.statement.bind(self.next(), integer: value.rawValue) }
    mutating func text(_ value: String?) { self.statement.bind(self.next(), text: value) }
    mutating func json(_ value: String) { self.statement.bind(self.next(), text: value) }
    mutating func integer(_ value: Int64?) { self.statement.bind(self.next(), integer: value) }
    mutating func integer32(_ value: Int32?) { self.statement.bind(self.next(), integer: value.map(Int64.init)) }
}
