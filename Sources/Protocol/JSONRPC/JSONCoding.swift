#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON encoder and decoder every message goes through, configured once.
enum JSONCoding {
    /// Shared instances: building a coder per message is measurable at tens of thousands of
    /// messages a second, and their configuration never changes after this point.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return try decoder.decode(type, from: Data())
            }
            // No copy: the decoder reads the bytes only during this call.
            let data = Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: base),
                count: buffer.count,
                deallocator: .none
            )
            return try decoder.decode(type, from: data)
        }
    }
}
