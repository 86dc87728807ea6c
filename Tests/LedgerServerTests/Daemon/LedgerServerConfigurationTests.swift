import LedgerStore
import Testing

@testable import LedgerServer

@Suite struct LedgerServerConfigurationTests {
    @Test func theMemoryStoreGetsSmallBatchesAndAShallowQueue() throws {
        let memory = LedgerServerConfiguration(socketPath: "/tmp/s", sizedFor: try StoreLocation(parsing: "memory:500"))
        #expect(memory.commitBatchSize == 2_000)
        #expect(memory.ingestQueueCapacity == 4_000)
    }

    @Test func durableStoresKeepLargeBatches() throws {
        for text in ["sqlite:/tmp/ledger.sqlite", "postgresql:///ledger?host=/tmp"] {
            let durable = LedgerServerConfiguration(socketPath: "/tmp/s", sizedFor: try StoreLocation(parsing: text))
            let plain = LedgerServerConfiguration(socketPath: "/tmp/s")
            #expect(durable.commitBatchSize == plain.commitBatchSize, "\(text)")
            #expect(durable.ingestQueueCapacity == plain.ingestQueueCapacity, "\(text)")
            #expect(durable.commitBatchSize == 10_000)
            #expect(
                durable.ingestQueueCapacity >= 2 * durable.commitBatchSize,
                "\(text): the queue holds the batch being written and the next")
        }
    }
}
