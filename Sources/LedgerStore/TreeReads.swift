import NIOConcurrencyHelpers

/// A store whose reader connections run a tree read within the query budget, as they run a query.
protocol TreeReadingStore: Sendable {
    associatedtype Connection
    func readTree<Value: Sendable>(_ body: @escaping @Sendable (Connection) throws -> Value) async throws -> Value
}

/// Where a store's tree reader runs each call: on a connection of its own, used by one call at a
/// time under its lock (`ledger-rpc verify --store`), or on one of the store's readers (`prove`).
enum TreeReads<Store: TreeReadingStore>: @unchecked Sendable {
    // @unchecked: the connection of `own` is only used under its lock.
    case own(Store.Connection, NIOLock)
    case pool(Store)

    func run<Value: Sendable>(_ body: @escaping @Sendable (Store.Connection) throws -> Value) async throws -> Value {
        switch self {
        case .own(let connection, let lock):
            return try lock.withLock { try body(connection) }
        case .pool(let store):
            return try await store.readTree(body)
        }
    }
}
