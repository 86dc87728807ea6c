/// A reader's read-only connection and its time budget per query, confined to that reader's thread.
final class SQLiteReaderState {
    let connection: SQLiteConnection
    /// Nil when queries may run as long as they take.
    let budget: SQLiteQueryBudget?

    init(connection: SQLiteConnection, budget: SQLiteQueryBudget?) {
        self.connection = connection
        self.budget = budget
    }
}
