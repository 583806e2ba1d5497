import Foundation

/// The API's JSON coders: sorted keys (stable bytes for stored idempotent replies), ISO 8601 dates.
enum BrokerJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding the API's own value types cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(bytes))
    }
}
