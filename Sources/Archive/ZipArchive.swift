import CZip

/// One entry of a ZIP archive as its central directory describes it.
package struct ZipEntry: Sendable {
    package let index: UInt64
    package let name: String
    package let size: UInt64
    package let compressedSize: UInt64
    package let crc: UInt32
    /// Unix mode bits when the archive was made on Unix (upper 16 bits of the external
    /// attributes), else nil.
    package let unixMode: UInt32?
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
            if code == ZIP_ER_EXISTS {
                throw .duplicateEntry(
                    entry: CentralDirectoryNames.firstDuplicate(inArchiveAt: path) ?? "(unnamed)"
                )
            }
            var error = zip_error_t()
            zip_error_init_with_code(&error, code)
            defer { zip_error_fini(&error) }
            throw .unreadable(String(cString: zip_error_strerror(&error)))
        }
        self.handle = handle
        self.buffer = nil
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

    /// Streams an entry's bytes to `sink` in chunks. libzip checks the CRC when the entry has
    /// been read to its end; a mismatch becomes `.badCRC`.
    package func read(
        _ entry: ZipEntry,
        chunkSize: Int = 1 << 16,
        into sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void
    )
        throws(ArchiveError)
    {
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
