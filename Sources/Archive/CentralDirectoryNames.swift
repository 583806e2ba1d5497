import Foundation

/// Reads entry names straight from a ZIP's central directory. libzip refuses an archive with
/// duplicate names at open time without saying which name; this finds it so the error can name
/// the entry. Only used on that error path; ZIP64 archives yield nil.
package enum CentralDirectoryNames {
    package static func firstDuplicate(inArchiveAt path: String) -> String? {
        FileManager.default.contents(atPath: path).flatMap { firstDuplicate(in: [UInt8]($0)) }
    }

    /// The same, for an archive held in memory.
    package static func firstDuplicate(in bytes: [UInt8]) -> String? {
        guard bytes.count >= 22 else { return nil }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        var eocd = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while eocd >= lowest, u32(eocd) != 0x0605_4b50 { eocd -= 1 }
        guard eocd >= lowest else { return nil }
        let count = u16(eocd + 10)
        var offset = u32(eocd + 16)
        var seen = Set<String>()
        for _ in 0..<count {
            guard offset + 46 <= bytes.count, u32(offset) == 0x0201_4b50 else { return nil }
            let nameLength = u16(offset + 28)
            let skip = 46 + nameLength + u16(offset + 30) + u16(offset + 32)
            guard offset + skip <= bytes.count else { return nil }
            let name = String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self)
            if !seen.insert(name).inserted { return name }
            offset += skip
        }
        return nil
    }
}
