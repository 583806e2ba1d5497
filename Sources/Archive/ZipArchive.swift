import CZip

#if canImport(Glibc)
import Glibc
#endif

/// One entry of a ZIP archive as its central directory describes it.
package struct ZipEntry: Sendable, Hashable {
    package let index: UInt64
    package let name: String
    package let size: UInt64
    package let compressedSize: UInt64
    package let crc: UInt32
    /// Unix mode bits when the archive was made on Unix (upper 16 bits of the external
    /// attributes), else nil.
    package let unixMode: UInt32?

    package init(
        index: UInt64,
        name: String,
        size: UInt64,
        compressedSize: UInt64,
        crc: UInt32,
        unixMode: UInt32?
    ) {
        (self.index, self.name, self.size) = (index, name, size)
        (self.compressedSize, self.crc, self.unixMode) = (compressedSize, crc, unixMode)
    }
}

/// A read-only ZIP archive opened with libzip: the only type that touches libzip.
///
/// Every call blocks; callers run it on a thread pool. Not `Sendable`: one owner at a time.
package final class ZipArchive {
    private let handle: OpaquePointer
    /// The bytes of an archive opened from memory: libzip reads them in place, so they live as
    /// long as the handle.
    private let buffer: UnsafeMutableRawBufferPointer?

    /// Opens `path`. With `checkConsistency` (the default) libzip also compares every local header
    /// with the central directory, so a corrupt or doctored archive fails here; a caller that
    /// reads only a few entries (libzip still checks each one's data against its CRC), or reopens
    /// an archive already checked, can skip that pass over the whole file.
    package init(path: String, checkConsistency: Bool = true) throws(ArchiveError) {
        var code: Int32 = 0
        guard let handle = zip_open(path, ZIP_RDONLY | (checkConsistency ? ZIP_CHECKCONS : 0), &code) else {
            throw Self.openError(code, path: path)
        }
        self.handle = handle
        self.buffer = nil
    }

    /// Opens the archive open at `descriptor` (which stays the caller's: libzip gets a copy),
    /// with the same checks as `init(path:)`: the file read is the one opened, wherever its path
    /// has gone since.
    package init(descriptor: Int32, checkConsistency: Bool = true) throws(ArchiveError) {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw .unreadable("dup: \(String(cString: strerror(errno)))") }
        var code: Int32 = 0
        guard let handle = zip_fdopen(copy, checkConsistency ? ZIP_CHECKCONS : 0, &code) else {
            close(copy)
            throw Self.openError(code, path: "/proc/self/fd/\(descriptor)")
        }
        self.handle = handle
        self.buffer = nil
    }

    private static func openError(_ code: Int32, path: String) -> ArchiveError {
        if code == ZIP_ER_EXISTS {
            return .duplicateEntry(
                entry: CentralDirectoryNames.firstDuplicate(inArchiveAt: path) ?? "(unnamed)"
            )
        }
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return .unreadable(String(cString: zip_error_strerror(&error)))
    }

    /// Opens an archive held in memory (the fuzzers' way in; the agent reads files), with the
    /// same checks as `init(path:)`.
    package init(bytes: [UInt8], checkConsistency: Bool = true) throws(ArchiveError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        guard let source = zip_source_buffer_create(buffer.baseAddress, UInt64(bytes.count), 0, &error) else {
            buffer.deallocate()
            throw .unreadable(String(cString: zip_error_strerror(&error)))
        }
        guard
            let handle = zip_open_from_source(
                source,
                ZIP_RDONLY | (checkConsistency ? ZIP_CHECKCONS : 0),
                &error
            )
        else {
            // On failure the source is still ours to free.
            zip_source_free(source)
            buffer.deallocate()
            if zip_error_code_zip(&error) == ZIP_ER_EXISTS {
                throw .duplicateEntry(entry: CentralDirectoryNames.firstDuplicate(in: bytes) ?? "(unnamed)")
            }
            throw .unreadable(String(cString: zip_error_strerror(&error)))
        }
        self.handle = handle
        self.buffer = buffer
    }

    deinit {
        zip_discard(handle)
        buffer?.deallocate()
    }

    package var entryCount: Int { Int(zip_get_num_entries(handle, 0)) }

    /// Throws unless libzip counts `expected` entries (nil: any count): where the directory was
    /// also read by `ZipDirectory`, the two readings of one archive must agree.
    package func expectEntryCount(_ expected: Int?) throws(ArchiveError) {
        if let expected, entryCount != expected {
            throw .unreadable(
                "libzip counts \(entryCount) entries where the central directory lists \(expected)"
            )
        }
    }

    package func entry(at index: Int) throws(ArchiveError) -> ZipEntry {
        var stat = zip_stat_t()
        zip_stat_init(&stat)
        guard zip_stat_index(handle, UInt64(index), ZIP_FL_ENC_GUESS, &stat) == 0, let rawName = stat.name
        else {
            throw .unreadable("entry \(index): \(String(cString: zip_strerror(handle)))")
        }
        var opsys: UInt8 = 0
        var attributes: UInt32 = 0
        let hasAttributes =
            zip_file_get_external_attributes(handle, UInt64(index), 0, &opsys, &attributes) == 0
        return ZipEntry(
            index: UInt64(index),
            name: String(cString: rawName),
            size: stat.size,
            compressedSize: stat.comp_size,
            crc: stat.crc,
            unixMode: hasAttributes && UInt32(opsys) == ZIP_OPSYS_UNIX ? attributes >> 16 : nil
        )
    }

    /// An entry's bytes, all at once: for the small ones (a symlink's target).
    package func bytes(of entry: ZipEntry) throws(ArchiveError) -> [UInt8] {
        var bytes: [UInt8] = []
        try read(entry) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Streams an entry's bytes to `sink` in chunks. libzip checks the CRC when the entry has
    /// been read to its end; a mismatch becomes `.badCRC`.
    package func read(
        _ entry: ZipEntry,
        chunkSize: Int = 1 << 16,
        into sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void
    )
        throws(ArchiveError)
    {
        // The entry may come from `ZipDirectory`'s reading of the directory: libzip's must be
        // the same entry, or the bytes would belong to another.
        var stat = zip_stat_t()
        zip_stat_init(&stat)
        guard zip_stat_index(handle, entry.index, ZIP_FL_ENC_GUESS, &stat) == 0, let rawName = stat.name,
            stat.size == entry.size, stat.comp_size == entry.compressedSize, stat.crc == entry.crc,
            entry.name.withCString({ strcmp($0, rawName) }) == 0  // the bytes, not Unicode equivalence
        else {
            throw .unreadable("\(entry.name): libzip reads entry \(entry.index) differently from the plan")
        }
        guard let file = zip_fopen_index(handle, entry.index, 0) else {
            throw .unreadable("\(entry.name): \(String(cString: zip_strerror(handle)))")
        }
        defer { zip_fclose(file) }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var total: UInt64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress, UInt64(chunkSize)) }
            if count < 0 {
                let error = zip_file_get_error(file)!
                if zip_error_code_zip(error) == ZIP_ER_CRC { throw .badCRC(entry: entry.name) }
                throw .unreadable("\(entry.name): \(String(cString: zip_error_strerror(error)))")
            }
            if count == 0 { break }
            total += UInt64(count)
            // The central directory's size is what the limits were checked against; an entry
            // that inflates beyond it is lying.
            if total > entry.size { throw .sizeMismatch(entry: entry.name) }
            // `withUnsafeBytes` only rethrows untyped errors; carry the typed one out by hand.
            let failure = buffer.withUnsafeBytes { raw -> ArchiveError? in
                do throws(ArchiveError) {
                    try sink(UnsafeRawBufferPointer(rebasing: raw[0..<Int(count)]))
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
        if total != entry.size { throw .sizeMismatch(entry: entry.name) }
    }
}
