import Foundation
import LedgerProtocol
import NIOCore
import Testing

/// Every file in Protocol/vectors: valid frames decode and re-encode byte for byte,
/// invalid ones fail with the error code the file names.
@Suite struct GoldenVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var direction: String
        var expectedError: String?
        var bytes: [UInt8]

        var testDescription: String { self.name }
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../Protocol/vectors").standardized

    static func load() -> [Vector] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory.path)) ?? []
        return names.filter { $0.hasSuffix(".hex") }.sorted().compactMap { name in
            guard let text = try? String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8) else { return nil }
            var vector = Vector(name: name, direction: "", expectedError: nil, bytes: [])
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# direction: ") {
                    vector.direction = String(line.dropFirst("# direction: ".count))
                } else if line.hasPrefix("# expect-error: ") {
                    vector.expectedError = String(line.dropFirst("# expect-error: ".count))
                } else if !line.hasPrefix("#") {
                    vector.bytes += line.split(separator: " ").compactMap { UInt8($0, radix: 16) }
                }
            }
            return vector
        }
    }

    @Test func thereAreVectorsForEveryMessage() {
        let vectors = Self.load()
        #expect(vectors.count >= 24)
        let types = Set(vectors.filter { $0.expectedError == nil }.compactMap { $0.bytes.count > 5 ? $0.bytes[5] : nil })
        let all = Set(Fixtures.requests.map(\.id.rawValue) + Fixtures.responses.map(\.id.rawValue))
        #expect(all.isSubset(of: types))
    }

    @Test(arguments: Self.load())
    func vector(_ vector: Vector) throws {
        var buffer = ByteBuffer(bytes: vector.bytes)
        var decoder = LedgerFrameDecoder()
        if let expected = vector.expectedError {
            let error = try #require(throws: LedgerProtocolError.self) {
                let frame = try #require(try decoder.decode(buffer: &buffer))
                _ = try LedgerRequest.decode(frame)
            }
            #expect(error.code.name == expected)
            return
        }
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        var reencoded = ByteBuffer()
        if vector.direction == "request" {
            try LedgerRequest.decode(frame).encode(requestID: frame.requestID, into: &reencoded)
        } else {
            try LedgerResponse.decode(frame).frame(requestID: frame.requestID).encode(into: &reencoded)
        }
        #expect(Array(reencoded.readableBytesView) == vector.bytes)
    }
}
