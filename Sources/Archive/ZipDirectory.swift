#if canImport(Glibc)
import Glibc
#endif

/// Reads a ZIP archive's central directory in Swift, for the archives that need no guessing: the
/// plan of a 100,000-entry archive took 0.16 s through libzip (its open reads the directory
/// into its own structures, then every entry is asked for again) and takes a few tens of
/// milliseconds here. libzip still reads every entry's data (`ZipArchive.read`), and checks
/// there that its entry is the one this reader listed.
///
/// Only a strict subset is taken; anything else is left to libzip (`nil`), which reads it as
/// before:
/// - one end-of-central-directory record, at the very end of the file (its comment reaches
///   exactly to the end, and no other record's signature is in the searched tail), and when
///   present a ZIP64 end record and locator right before it, consistent with it;
/// - the central directory right before those records, every byte of it an entry (as many as
///   the end record counts), at the offset the end record gives (nothing prepended to the
///   archive);
/// - no entry with a ZIP64 size or offset, a disk other than 0, an encryption flag, a name with
///   a control character other than tab, CR and LF, a name with a byte above 0x7F unless
///   flagged UTF-8 and valid UTF-8 (libzip would guess an encoding), an Info-ZIP Unicode path (0x7075) or ZIP64 (0x0001) extra field,
///   or extra fields that do not tile their block.
package enum ZipDirectory {
    /// The entries of the archive at `path`, in central directory order (an entry's `index` is
    /// its position, as in libzip); nil when it is outside the subset or cannot be read, or has
    /// more than `maxEntries` (libzip's reading then reports it as before).
    package static func entries(ofArchiveAt path: String, maxEntries: Int = .max) -> [ZipEntry]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return entries(inFile: descriptor, maxEntries: maxEntries)
    }

    /// The same, for the archive open at `descriptor` (read with `pread`: its offset stays).
    package static func entries(inFile descriptor: Int32, maxEntries: Int = .max) -> [ZipEntry]? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        let size = Int(status.st_size)
        let tailLength = min(size, Self.tailSearch)
        guard let tail = read(descriptor, count: tailLength, at: size - tailLength),
            let end = tail.withUnsafeBytes({ endRecord(in: $0, fileSize: size) }),
            end.count <= maxEntries,
            let directory = read(descriptor, count: end.directorySize, at: end.directoryOffset)
        else { return nil }
        return directory.withUnsafeBytes { entries(in: $0, count: end.count) }
    }

    /// The same, for an archive held in memory (the fuzzers' way in).
    package static func entries(in archive: [UInt8], maxEntries: Int = .max) -> [ZipEntry]? {
        archive.withUnsafeBytes { bytes -> [ZipEntry]? in
            let tailLength = min(bytes.count, Self.tailSearch)
            let tail = UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - tailLength)...])
            guard let end = endRecord(in: tail, fileSize: bytes.count), end.count <= maxEntries else {
                return nil
            }
            let directory = UnsafeRawBufferPointer(
                rebasing: bytes[end.directoryOffset..<(end.directoryOffset + end.directorySize)]
            )
            return entries(in: directory, count: end.count)
        }
    }

    // MARK: - The end records

    private static let endSignature: UInt32 = 0x0605_4b50
    private static let endLength = 22
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64LocatorLength = 20
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let zip64EndLength = 56
    /// The end record, its longest comment, and the ZIP64 records before it.
    private static let tailSearch = endLength + 0xFFFF + zip64LocatorLength + zip64EndLength

    private struct EndRecord {
        var count: Int
        var directoryOffset: Int
        var directorySize: Int
    }

    /// The central directory's place, from the end records in `tail` (the last bytes of a file
    /// of `fileSize` bytes).
    private static func endRecord(in tail: UnsafeRawBufferPointer, fileSize: Int) -> EndRecord? {
        guard tail.count >= endLength else { return nil }
        // Every signature in the comment's reach: exactly one may be there.
        var found: Int?
        var position = tail.count - endLength
        let lowest = max(0, tail.count - endLength - 0xFFFF)
        while position >= lowest {
            if u32(tail, position) == endSignature {
                guard found == nil else { return nil }
                found = position
            }
            position -= 1
        }
        guard let end = found, end + endLength + Int(u16(tail, end + 20)) == tail.count else { return nil }
        let tailStart = fileSize - tail.count
        var record = EndRecord(
            count: Int(u16(tail, end + 10)),
            directoryOffset: Int(u32(tail, end + 16)),
            directorySize: Int(u32(tail, end + 12))
        )
        // One disk only.
        guard u16(tail, end + 4) == 0, u16(tail, end + 6) == 0, u16(tail, end + 8) == u16(tail, end + 10)
        else { return nil }
        var directoryEnd = tailStart + end
        let locator = end - zip64LocatorLength
        if locator >= 0, u32(tail, locator) == zip64LocatorSignature {
            guard u32(tail, locator + 4) == 0, u32(tail, locator + 16) == 1 else { return nil }
            let zip64End = Int(clamping: u64(tail, locator + 8)) - tailStart
            // The ZIP64 end record, without extensible data, right before the locator.
            guard zip64End == locator - zip64EndLength, zip64End >= 0,
                u32(tail, zip64End) == zip64EndSignature,
                u64(tail, zip64End + 4) == UInt64(zip64EndLength - 12),
                u32(tail, zip64End + 16) == 0, u32(tail, zip64End + 20) == 0,
                u64(tail, zip64End + 24) == u64(tail, zip64End + 32),
                let count = Int(exactly: u64(tail, zip64End + 32)),
                let size = Int(exactly: u64(tail, zip64End + 40)),
                let offset = Int(exactly: u64(tail, zip64End + 48))
            else { return nil }
            // The 16- and 32-bit fields either say "see ZIP64" or agree with it.
            guard u16(tail, end + 10) == 0xFFFF || record.count == count,
                u32(tail, end + 12) == 0xFFFF_FFFF || record.directorySize == size,
                u32(tail, end + 16) == 0xFFFF_FFFF || record.directoryOffset == offset
            else { return nil }
            record = EndRecord(count: count, directoryOffset: offset, directorySize: size)
            directoryEnd = tailStart + zip64End
        } else if u16(tail, end + 10) == 0xFFFF || u32(tail, end + 12) == 0xFFFF_FFFF
            || u32(tail, end + 16) == 0xFFFF_FFFF
        {
            return nil
        }
        guard record.directoryOffset <= directoryEnd,
            record.directorySize == directoryEnd - record.directoryOffset
        else { return nil }
        return record
    }

    // MARK: - The entries

    private static let entrySignature: UInt32 = 0x0201_4b50
    private static let entryHeaderLength = 46

    private static func entries(in directory: UnsafeRawBufferPointer, count: Int) -> [ZipEntry]? {
        // Each entry takes at least its header: a count beyond that is a lie.
        guard count <= directory.count / entryHeaderLength else { return nil }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var offset = 0
        for index in 0..<count {
            guard offset + entryHeaderLength <= directory.count, u32(directory, offset) == entrySignature
            else {
                return nil
            }
            let madeBy = u16(directory, offset + 4)
            let flags = u16(directory, offset + 8)
            let crc = u32(directory, offset + 16)
            let compressedSize = u32(directory, offset + 20)
            let size = u32(directory, offset + 24)
            let nameLength = Int(u16(directory, offset + 28))
            let extraLength = Int(u16(directory, offset + 30))
            let commentLength = Int(u16(directory, offset + 32))
            let attributes = u32(directory, offset + 38)
            let nameStart = offset + entryHeaderLength
            let next = nameStart + nameLength + extraLength + commentLength
            guard next <= directory.count,
                flags & 0x0001 == 0,  // encrypted
                u16(directory, offset + 34) == 0,  // disk
                compressedSize != 0xFFFF_FFFF, size != 0xFFFF_FFFF,
                u32(directory, offset + 42) != 0xFFFF_FFFF,
                extrasAreSimple(
                    UnsafeRawBufferPointer(
                        rebasing: directory[(nameStart + nameLength)..<(nameStart + nameLength + extraLength)]
                    )
                ),
                let name = name(
                    UnsafeRawBufferPointer(rebasing: directory[nameStart..<(nameStart + nameLength)]),
                    flaggedUTF8: flags & 0x0800 != 0
                )
            else { return nil }
            entries.append(
                ZipEntry(
                    index: UInt64(index),
                    name: name,
                    size: UInt64(size),
                    compressedSize: UInt64(compressedSize),
                    crc: crc,
                    // Made on Unix (3): the mode is the attributes' upper half, as libzip reports it.
                    unixMode: madeBy >> 8 == 3 ? attributes >> 16 : nil
                )
            )
            offset = next
        }
        return offset == directory.count ? entries : nil
    }

    /// The name as libzip would give it, when no guess is involved: printable ASCII, or flagged
    /// and valid UTF-8. Never with a control character: libzip then takes the name for CP437
    /// and converts it (0x1E becomes "▲"), or, when the name is flagged UTF-8, refuses it; nor
    /// with a NUL byte (libzip's C string would end there). The fuzzer found the control
    /// characters.
    private static func name(_ bytes: UnsafeRawBufferPointer, flaggedUTF8: Bool) -> String? {
        var ascii = true
        for byte in bytes {
            if byte < 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D { return nil }
            if byte >= 0x80 { ascii = false }
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        guard flaggedUTF8 else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Whether the extra fields tile their block and none changes the entry's name or sizes.
    private static func extrasAreSimple(_ extra: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < extra.count {
            guard offset + 4 <= extra.count else { return false }
            let id = u16(extra, offset)
            let length = Int(u16(extra, offset + 2))
            guard id != 0x0001, id != 0x7075, offset + 4 + length <= extra.count else { return false }
            offset += 4 + length
        }
        return true
    }

    // MARK: - Bytes

    private static func read(_ descriptor: Int32, count: Int, at offset: Int) -> [UInt8]? {
        guard count >= 0, offset >= 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return bytes
    }

    private static func u16(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private static func u32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(u16(bytes, at)) | UInt32(u16(bytes, at + 2)) << 16
    }

    private static func u64(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32
    }
}
