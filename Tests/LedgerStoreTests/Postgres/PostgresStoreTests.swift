import Foundation
import LedgerProtocol
import LedgerTestSupport
import LedgerTree
import Testing

@testable import LedgerStore

@Suite struct PostgresStoreTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func anUnreachableServerIsOneLineWithoutThePassword() async throws {
        let location = try StoreLocation(parsing: "postgresql://ledger:s3cret-pw@/ledger?host=/nonexistent-ledger-dir")
        let error = await #expect(throws: StoreError.self) { try await location.open(logger: .init(label: "test")) }
        let text = try #require(error).description
        #expect(error?.code == .unavailable)
        #expect(!text.contains("s3cret-pw"))
        #expect(!text.contains("\n"))
        #expect(text.contains("/nonexistent-ledger-dir"), "names where it looked: \(text)")
    }

    @Test(arguments: ["postgresql://ledger:s3cret-pw@/ledger?bogus_option=1", "host=/tmp password=s3cret-pw bogus_option=1"])
    func aMalformedConnectionStringIsRefusedWithoutThePassword(text: String) {
        let error = #expect(throws: StoreError.self) { try StoreLocation(parsing: text) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("s3cret-pw") == false)
        #expect(error?.description.contains("bogus_option") == true)
    }

    @Test(arguments: [
        ("postgresql://app:pw@db.example:6432/ledger?sslmode=require", "postgres://app@db.example:6432/ledger"),
        ("host=/run/postgresql dbname=ledger user=app password=pw", "postgres://app@/ledger?host=/run/postgresql"),
        ("postgres:///ledger", "postgres:///ledger"),
    ])
    func describesAConnectionWithoutItsPassword(text: String, expected: String) throws {
        #expect(try StoreLocation(parsing: text).description == expected)
    }

    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func daemonsStartingAtOnceApplyEachMigrationOnce() async throws {
        let database = try await TestStore.make(.postgres)
        let stores = try await withThrowingTaskGroup(of: (any EventStore).self) { group in
            for _ in 0..<4 {
                group.addTask { try await database.open() }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 4)
        let versions = try MigrationCatalog.embedded(backend: "postgres").migrations.count
        #expect(try await database.shell("SELECT count(*) FROM schema_migrations") == "\(versions)")
        // Each made this month's and next month's partitions if none had yet: one of each, beside
        // the first and the default ones.
        #expect(try await database.shell("SELECT count(*) FROM pg_inherits WHERE inhparent = 'ledger_events'::regclass") == "4")
        for store in stores { await store.close() }
    }

    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func ridesOutARestartOfTheServer() async throws {
        let server = try await TestPostgres.PrivateServer.start()
        let store = try await StoreLocation(parsing: server.uri).open(logger: .init(label: "test"))
        let first = LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000), eventType: "job_created", entityType: "job", entityID: "a")
        #expect(try await store.append([first]) == 1)

        try await server.stop()
        let second = LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_001), eventType: "job_created", entityType: "job", entityID: "b")
        let writeError = await #expect(throws: StoreError.self) { try await store.append([second]) }
        #expect(writeError?.code == .unavailable, "an outage is reported as one, so the writer retries")
        let readError = await #expect(throws: StoreError.self) { try await store.count(EventFilter()) }
        #expect(readError?.code == .unavailable)

        try await server.start()
        #expect(try await store.append([second]) == 1)
        #expect(try await store.count(EventFilter()) == 2)
        // The second writer sat idle through the restart: it sees its connection was closed before
        // using it, and reconnects instead of failing the batch.
        #expect(try await store.insert(requests: Self.requests(count: 2, of: Self.half)).compactMap { $0 }.count == 2 * Self.half)
        #expect(try await store.count(EventFilter()) == UInt64(2 + 2 * Self.half))
        await store.close()
    }

    /// Requests this large, two or more to a batch, make a batch that is split between the writers.
    static let half = PostgresStore.splitEvents / 2 + 1

    static func requests(count: Int, of size: Int) -> [[LedgerEvent]] {
        (0..<count).map { request in
            (0..<size).map { index in
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000 + Int64(request * size + index)),
                    eventType: "clip_created", entityType: "clip", entityID: "c-\(request)-\(index)", jobID: UUID(), clipID: UUID())
            }
        }
    }

    /// A batch large enough is copied by both writers at once, in two transactions, and still
    /// numbered in the order of its events.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aLargeBatchIsSplitBetweenTheWritersAndNumberedInOrder() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        let requests = Self.requests(count: 4, of: Self.half)
        let numbers = try await store.insert(requests: requests).compactMap { $0 }
        #expect(numbers.count == 4 * Self.half)
        #expect(numbers == numbers.sorted() && Set(numbers).count == 4 * Self.half)
        #expect(try await database.shell("SELECT count(DISTINCT xmin::text) FROM ledger_events") == "2", "two transactions")
        let byNumber = try await database.shell("SELECT id FROM ledger_events ORDER BY seq").split(separator: "\n").map(String.init)
        #expect(byNumber == requests.joined().map(\.id.lowercaseText))
        await store.close()
    }

    /// A client's retry in either half sends that half through the statement that skips stored ids,
    /// with the numbers the batch took, so they still ascend across the halves.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func storedIDsInASplitBatchAreSkippedAndTheRestNumberedInOrder() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        let requests = Self.requests(count: 4, of: Self.half)
        let retried = [requests[0][7], requests[3][20]]
        let earlier = try await store.insert(retried)
        let numbers = try await store.insert(requests: requests)
        #expect(numbers[7] == nil)
        #expect(numbers[3 * Self.half + 20] == nil)
        let fresh = numbers.compactMap { $0 }
        #expect(fresh.count == 4 * Self.half - 2)
        #expect(fresh == fresh.sorted() && fresh.first! > earlier.compactMap { $0 }.max()!)
        #expect(try await store.count(EventFilter()) == UInt64(4 * Self.half))
        // Sent again whole, every id is stored: nothing new, in either half.
        #expect(try await store.insert(requests: requests).allSatisfy { $0 == nil })
        await store.close()
    }

    /// A batch and its retry in one commit (a client resending what it had not had acked yet) put the
    /// same ids in both halves; split, the second half would wait on the first's row locks while the
    /// first waits for the second's copy, and the writer would never commit again.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aBatchAndItsRetryInOneCommitAreStoredOnce() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        let batch = Self.requests(count: 1, of: 300)[0]
        let finished = try await withDeadline(seconds: 60) { try await store.insert(requests: [batch, batch]) }
        let numbers = try #require(finished, "the commit of a batch and its retry never finished")
        #expect(numbers[..<300].allSatisfy { $0 != nil } && numbers[300...].allSatisfy { $0 == nil }, "the first of each id is stored")
        #expect(try await store.count(EventFilter()) == 300)
        await store.close()
    }

    /// A row the table refuses, in either half, fails the whole batch: neither half is kept.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired), arguments: [0, 3])
    func aRefusedRowInEitherHalfKeepsNothingOfTheBatch(request: Int) async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        var requests = Self.requests(count: 4, of: Self.half)
        // The daemon refuses such metadata before it gets here; the table's own check refuses it too.
        requests[request][10].metadata = "[1, 2]"
        let error = await #expect(throws: StoreError.self) { try await store.insert(requests: requests) }
        #expect(error?.code == .writeFailed)
        #expect(try await store.count(EventFilter()) == 0)
        #expect(try await database.shell("SELECT count(*) FROM ledger_events") == "0")
        // The writers are usable again.
        #expect(try await store.insert(requests: Self.requests(count: 4, of: Self.half)).compactMap { $0 }.count == 4 * Self.half)
        await store.close()
    }

    /// The first half of a split commit commits once the second's rows are in, while the second puts
    /// in its leaves: a second half that then fails (here its row of leaf records, refused by a
    /// trigger) leaves the first half's events with their leaves, a log that verifies, and a batch
    /// whose retry stores the rest once.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aSecondHalfFailingAfterTheFirstCommittedLeavesALogThatVerifies() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        let key = LogKey()
        try await store.openLog(key.publicKey)
        try await database.shell(
            """
            CREATE FUNCTION refuse_later_leaves() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.first_leaf > 0 THEN RAISE EXCEPTION 'leaves after the first refused'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_later_leaves BEFORE INSERT ON ledger_tree_leaves FOR EACH ROW EXECUTE FUNCTION refuse_later_leaves();
            """)
        let events = LeafHasherTests.events(2 * Self.half)
        let requests = [Array(events[..<Self.half]), Array(events[Self.half...])]
        let leaves = requests.map(LeafHasherTests.leaves)
        let error = await #expect(throws: StoreError.self) { try await store.commit(requests: requests, leaves: leaves) }
        #expect(error?.message.contains("leaves after the first refused") == true)
        #expect(try await store.count(EventFilter()) == Self.half, "the first half committed, the second did not")
        #expect(try #require(try await store.treeState()).size == UInt64(Self.half), "with its leaves only")

        try await database.shell("DROP TRIGGER refuse_later_leaves ON ledger_tree_leaves")
        let retried = try await store.commit(requests: requests, leaves: leaves)
        #expect(retried.sequences[..<Self.half].allSatisfy { $0 == nil } && retried.sequences[Self.half...].allSatisfy { $0 != nil })
        let state = try #require(try await store.treeState())
        #expect(state.size == UInt64(2 * Self.half))
        try await store.storeHead(
            try key.sign(size: state.size, root: state.root, timestamp: LedgerTimestamp(rawValue: 1_790_000_000_000_000)))
        let source = try #require(try await store.treeSource())
        let report = try await TreeVerifier(keys: [key.publicKey]).verify(source)
        #expect(report.verified, "\(report.problems) \(String(describing: report.firstBadLeaf))")
        #expect(report.eventsChecked == UInt64(2 * Self.half))
        await store.close()
    }

    /// Microseconds since the epoch of the first instant of the month (UTC) `months` after this one.
    static func monthStart(_ months: Int) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let thisMonth = calendar.date(from: calendar.dateComponents([.year, .month], from: Date()))!
        return Int64(calendar.date(byAdding: .month, value: months, to: thisMonth)!.timeIntervalSince1970) * 1_000_000
    }

    /// 20 events of a year ago, 10 of this month and 10 of three months ahead, in time order.
    static func eventsAcrossMonths() -> [LedgerEvent] {
        let starts = [Self.monthStart(-12), Self.monthStart(0), Self.monthStart(3)]
        return (0..<40).map { (index: Int) -> LedgerEvent in
            let month: Int64 = index < 20 ? starts[0] : (index < 30 ? starts[1] : starts[2])
            let job: UUID? = index % 2 == 0 ? UUID() : nil
            return LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: month + 3_600_000_000 + Int64(index)),
                eventType: "clip_created", entityType: "clip", entityID: "c-\(index)", jobID: job)
        }
    }

    static func rows(_ database: TestStore, in table: String) async throws -> Int {
        Int(try await database.shell("SELECT count(*) FROM \(table)")) ?? -1
    }

    /// Events in every partition, none too old or too new for one, read, paged and followed as on
    /// one table; an event's month's partition made later takes what waited in the default one.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func monthPartitionsKeepEverythingWorking() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        #expect(try await database.shell("SELECT relkind FROM pg_class WHERE relname = 'ledger_events'") == "p")
        let thisMonth = "ledger_events_" + (try await database.shell("SELECT to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')"))
        let events = Self.eventsAcrossMonths()
        #expect(try await store.append(Array(events[0..<35])) == 35)
        #expect(try await Self.rows(database, in: "ledger_events_first") == 20, "a year ago: the first partition, which holds all before this month")
        #expect(try await Self.rows(database, in: thisMonth) == 10)
        #expect(try await Self.rows(database, in: "ledger_events_default") == 5, "three months ahead has no partition yet")

        // A retry is stored once in any partition, the default one included; the rest are new.
        #expect(try await store.append(Array(events[15..<40])) == 5)
        #expect(try await store.count(EventFilter()) == 40)
        #expect(try await Self.rows(database, in: "ledger_events_default") == 10)

        let ahead = Self.monthStart(3) / 1_000_000
        #expect(try await database.shell("SELECT ledger_ensure_month_partition(to_timestamp(\(ahead)))") == "t")
        #expect(try await database.shell("SELECT ledger_ensure_month_partition(to_timestamp(\(ahead)))") == "f", "made once")
        #expect(try await database.shell("SELECT ledger_ensure_month_partition(to_timestamp(\(Self.monthStart(-5) / 1_000_000)))") == "f",
            "a month the first partition holds gets none of its own")
        #expect(try await Self.rows(database, in: "ledger_events_default") == 0, "the new partition took its month's events")
        #expect(try await store.append(Array(events[30..<40])) == 0, "and still knows them as stored")

        var paged: [UUID] = []
        var cursor: EventCursor?
        repeat {
            let page = try await store.query(QueryRequest(order: .oldestFirst, limit: 7, after: cursor))
            paged += page.events.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(paged == events.map(\.id))
        let followed = try await store.events(afterSequence: 0, matching: EventFilter(), limit: 100)
        #expect(Set(followed.map(\.id)) == Set(events.map(\.id)))
        #expect(followed.map { $0.sequence ?? 0 } == followed.map { $0.sequence ?? 0 }.sorted(), "a tail reads every partition in commit order")
        let job = try #require(events[24].jobID)
        #expect(try await store.query(QueryRequest(filter: EventFilter(jobID: job))).events.map(\.id) == [events[24].id])
        await store.close()
    }

    static func partitions(_ database: TestStore) async throws -> Set<String> {
        Set(try await database.shell("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'ledger_events'::regclass").split(separator: "\n").map(String.init))
    }

    /// Runs every rule of `policy` to the end, as a retention pass does; returns how many went.
    static func expireAll(_ policy: String, in store: any EventStore) async throws -> Int {
        let policy = try RetentionPolicy(parsing: policy)
        var removed = 0
        for rule in policy.expiringRules {
            let through = try await store.latestSequence()
            let selection = try #require(ExpirySelection(rule: rule, of: policy, now: .now(), throughSequence: through))
            removed += try await ExpiryTests.expire(selection, in: store, slice: 4)
        }
        return removed
    }

    /// A purge's slice reads about its own rows whatever the statistics say, from the retention
    /// connection's first session and from the one that replaces it. On a table never analyzed, a
    /// slice planned with its cutoff as a constant read every expired row to sort them.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aSliceReadsItsOwnRowsOnATableNeverAnalyzedAndAfterAReconnect() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try #require(try await database.open() as? PostgresStore)
        // The partitions stay as an import leaves them: never analyzed.
        for partition in try await database.shell("SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'ledger_events'::regclass")
            .split(separator: "\n")
        {
            _ = try await database.shell("ALTER TABLE \(partition) SET (autovacuum_enabled = off)")
        }
        let past = Self.monthStart(-2)
        for batch in 0..<10 {
            let events = (0..<500).map { (index: Int) -> LedgerEvent in
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: past + Int64(batch * 500 + index) * 1_000_000), eventType: "clip_created",
                    entityType: "clip", entityID: "c-\(batch)-\(index)")
            }
            #expect(try await store.append(events) == 500)
        }
        #expect(try await database.shell("SELECT count(*) FROM pg_class WHERE relname LIKE 'ledger_events%' AND relkind = 'r' AND reltuples >= 0") == "0")
        let policy = try RetentionPolicy(parsing: "INFO=30d")
        let rule = try #require(policy.expiringRules.first)
        let selection = try #require(ExpirySelection(rule: rule, of: policy, now: .now(), throughSequence: try await store.latestSequence()))
        let worker = try await store.retentionWorker()

        /// The rows a slice of 20 reads, counted by the server inside a transaction rolled back after it.
        func rowsReadByASlice() async throws -> (removed: Int, read: Int?, pid: String?) {
            try await worker.run { (connection: PostgresConnection) throws(StoreError) in
                try connection.reconnectIfBroken()
                try connection.execute("BEGIN", as: .queryFailed)
            }
            let progress = try await store.expire(selection, after: nil, limit: 20)
            let (read, pid) = try await worker.run { (connection: PostgresConnection) throws(StoreError) -> (Int?, String?) in
                let result = try connection.execute(
                    "SELECT sum(seq_tup_read + coalesce(idx_tup_fetch, 0))::text, pg_backend_pid()::text FROM pg_stat_xact_user_tables WHERE relname LIKE 'ledger_events%'",
                    as: .queryFailed)
                try connection.execute("ROLLBACK", as: .queryFailed)
                return (result.text(0, 0).flatMap { Int($0) }, result.text(0, 1))
            }
            return (progress.removed, read, pid)
        }
        let first = try await rowsReadByASlice()
        #expect(first.removed == 20)
        let read = try #require(first.read)
        #expect(read <= 200, "a slice of 20 among 5,000 expired events read \(read) rows")

        let pid = try #require(first.pid)
        _ = try await database.shell("SELECT pg_terminate_backend(\(pid))")
        while try await database.shell("SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)") != "0" { try await Task.sleep(for: .milliseconds(20)) }
        let second = try await rowsReadByASlice()
        #expect(second.pid != first.pid, "the connection was replaced")
        #expect(second.removed == 20)
        let readAgain = try #require(second.read)
        #expect(readAgain <= 200, "after a reconnect, a slice of 20 among 5,000 expired events read \(readAgain) rows")
        await store.close()
    }

    /// A past month's partition goes, files and all, once retention has emptied it, and not while
    /// it keeps one event; an event stamped in that month afterwards is still stored and found.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aPastMonthThatRetentionEmptiesIsDropped() async throws {
        let database = try await TestStore.make(.postgres)
        let store = try await database.open()
        let past = Self.monthStart(-2) + 3_600_000_000
        func event(_ index: Int, at micros: Int64, _ severity: Severity = .info) -> LedgerEvent {
            LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: micros), eventType: "clip_created", entityType: "clip",
                entityID: "c-\(index)", severity: severity)
        }
        let old = (0..<6).map { event($0, at: past + Int64($0)) }
        let error = event(6, at: past + 100, .error)
        let recent = (0..<3).map { event(10 + $0, at: LedgerTimestamp.now().rawValue - 1_000_000 * Int64($0)) }
        #expect(try await store.append(old + [error] + recent) == 10)
        #expect(try await Self.rows(database, in: "ledger_events_first") == 7)

        #expect(try await Self.expireAll("INFO=30d", in: store) == 6)
        #expect(try await store.reclaimSpace() == false, "the month still keeps its error")
        #expect(try await Self.partitions(database).contains("ledger_events_first"))
        #expect(try await Self.rows(database, in: "ledger_events_first") == 1)

        #expect(try await Self.expireAll("INFO=30d,ERROR=30d", in: store) == 1)
        // A query that holds ledger_events: the drop gives up after its lock timeout instead of
        // queueing every commit behind it, and the next pass drops the partition.
        let holder = Task { try? await database.shell("BEGIN; LOCK TABLE ledger_events IN ACCESS SHARE MODE; SELECT pg_sleep(600); COMMIT;") }
        let held = """
            SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = 'ledger_events' AND l.granted AND l.pid <> pg_backend_pid()
            """
        while try await database.shell(held) == "0" { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await store.reclaimSpace() == false, "the drop does not wait behind a query")
        #expect(try await Self.partitions(database).contains("ledger_events_first"))
        _ = try await database.shell("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()")
        _ = await holder.value
        #expect(try await store.reclaimSpace() == false, "one call vacuums and drops all it can")
        let left = try await Self.partitions(database)
        #expect(!left.contains("ledger_events_first"))
        #expect(left.contains("ledger_events_default") && left.count == 3, "this month's, next month's and the default partition stay: \(left)")
        #expect(Set(try await store.query(QueryRequest(order: .oldestFirst, limit: 100)).events.map(\.id)) == Set(recent.map(\.id)))

        let late = event(20, at: past + 5)
        #expect(try await store.append([late]) == 1)
        #expect(try await Self.rows(database, in: "ledger_events_default") == 1)
        #expect(try await store.query(QueryRequest(order: .oldestFirst, limit: 1)).events.map(\.id) == [late.id])
        #expect(try await store.append([late]) == 0, "a retry of it is still stored once")
        await store.close()
    }

    /// A store from before the partitions keeps its table, indexes and all, as the first partition,
    /// without a row copied but this month's and later, which move to their own partitions.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func anUnpartitionedStoreBecomesTheFirstPartition() async throws {
        let database = try await TestStore.make(.postgres)
        guard case .postgres(let info) = try StoreLocation(parsing: database.location) else {
            Issue.record("\(database.location) is not a PostgreSQL store")
            return
        }
        let all = try MigrationCatalog.embedded(backend: "postgres")
        let before = MigrationCatalog(directory: all.directory, migrations: all.migrations.filter { $0.version < 5 })
        let old = try await PostgresStore(connectionInfo: info, migrations: before)
        let events = Self.eventsAcrossMonths()
        #expect(try await old.append(events) == 40)
        let numbered = try await old.events(afterSequence: 0, matching: EventFilter(), limit: 100).map { "\($0.id) \($0.sequence ?? -1)" }
        await old.close()
        let files = "SELECT relname, relfilenode FROM pg_class WHERE relname IN ('idx_ledger_events_job_id', 'ledger_events_first_job_id', 'ledger_events_pkey', 'ledger_events_first_pkey') AND relkind = 'i'"
        let filesBefore = try await database.shell(files)

        let store = try await database.open()
        #expect(try await database.shell("SELECT relkind FROM pg_class WHERE relname = 'ledger_events'") == "p")
        #expect(try await Self.rows(database, in: "ledger_events_first") == 20)
        #expect(try await Self.rows(database, in: "ledger_events_default") == 10)
        // The same files under the first partition's names: nothing was rebuilt.
        let renamed = filesBefore.replacingOccurrences(of: "idx_ledger_events_job_id", with: "ledger_events_first_job_id")
            .replacingOccurrences(of: "ledger_events_pkey", with: "ledger_events_first_pkey")
        #expect(Set(try await database.shell(files).split(separator: "\n")) == Set(renamed.split(separator: "\n")))
        #expect(try await store.append(events) == 0, "every event is still known as stored")
        let read = try await store.query(QueryRequest(order: .oldestFirst, limit: 100)).events
        #expect(read.map(\.id) == events.map(\.id))
        let renumbered = try await store.events(afterSequence: 0, matching: EventFilter(), limit: 100).map { "\($0.id) \($0.sequence ?? -1)" }
        #expect(renumbered == numbered, "each event keeps its commit number")
        await store.close()
    }
}
