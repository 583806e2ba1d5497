import CGit2
import CSystemShims
import Crypto
import RollbackProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Writes blobs straight into one git packfile (version 2) and its index (version 2), so that a
/// sync of ten thousand files creates two files in `.git/objects/pack` instead of ten thousand
/// loose objects. The object count must be known before the first blob (it is in the header).
///
/// Format: https://git-scm.com/docs/pack-format. Each object is a type-and-size header followed by
/// its zlib-deflated bytes; the pack ends with the SHA-1 of everything before it. The index lists
/// the objects' names sorted, with the CRC-32 of each packed object and its offset.
final class PackWriter {
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    private struct Entry {
        var id: [UInt8]
        var crc: UInt32
        var offset: UInt64
    }

    private let directory: String
    private let temporaryPath: String
    private let fd: Int32
    private let expectedCount: Int
    private var packHash = Insecure.SHA1()
    private var offset: UInt64 = 0
    private var entries: [Entry] = []
    private var outBuffer = [UInt8](repeating: 0, count: 1 << 16)
    private var finished = false

    /// Starts `<directory>/tmp-<n>.pack` for exactly `count` objects.
    init(directory: String, count: Int, name: String) throws {
        self.directory = directory
        self.expectedCount = count
        temporaryPath = "\(directory)/tmp-\(name).pack"
        try FileSystem.makeDirectories(directory, mode: 0o755)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw FileSystem.Failure(call: "open", path: temporaryPath, code: errno) }
        var header: [UInt8] = Array("PACK".utf8) + [0, 0, 0, 2]
        withUnsafeBytes(of: UInt32(count).bigEndian) { header.append(contentsOf: $0) }
        var crcIgnored: UInt32 = 0
        try append(header, crc: &crcIgnored)
    }

    deinit {
        close(fd)
        // Not finished (an error part way): the temporary file is of no use to anyone.
        if !finished { unlink(temporaryPath) }
    }

    /// The kinds of object the writer adds, with their pack type numbers.
    enum ObjectKind: UInt8 {
        case tree = 2
        case blob = 3

        var name: String { self == .tree ? "tree" : "blob" }
    }

    /// Adds one blob of `size` bytes whose content `produce` streams, returning its object id.
    /// `compress: false` stores the bytes in zlib's uncompressed blocks: for content that does
    /// not shrink (images, video), deflating would cost far more time than it saves space.
    func addBlob(
        size: UInt64,
        compress: Bool = true,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> git_oid {
        try addObject(.blob, size: size, compress: compress, produce: produce)
    }

    /// Adds one object of `kind`, as `addBlob` does.
    func addObject(
        _ kind: ObjectKind,
        size: UInt64,
        compress: Bool = true,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> git_oid {
        guard entries.count < expectedCount else {
            throw WriteError(description: "more objects than the pack declared")
        }
        let start = offset
        var crc: UInt32 = 0
        // The type and the size, 4 bits then 7 bits per byte, high bit = more follows.
        var header: [UInt8] = []
        var remaining = size >> 4
        var byte = UInt8(kind.rawValue << 4) | UInt8(size & 0x0f)
        while remaining > 0 {
            header.append(byte | 0x80)
            byte = UInt8(remaining & 0x7f)
            remaining >>= 7
        }
        header.append(byte)
        try append(header, crc: &crc)

        var blobHash = Insecure.SHA1()
        blobHash.update(data: Array("\(kind.name) \(size)\0".utf8))
        var stream = z_stream()
        guard rollback_deflate_init(&stream, compress ? 1 : 0) == Z_OK else {
            throw WriteError(description: "deflateInit failed")
        }
        defer { deflateEnd(&stream) }
        var received: UInt64 = 0
        try produce { chunk in
            received += UInt64(chunk.count)
            blobHash.update(bufferPointer: chunk)
            try self.deflate(&stream, chunk, finish: false, crc: &crc)
        }
        guard received == size else {
            throw WriteError(description: "blob of \(received) bytes declared as \(size)")
        }
        try deflate(&stream, UnsafeRawBufferPointer(start: nil, count: 0), finish: true, crc: &crc)

        let id = Array(blobHash.finalize())
        entries.append(Entry(id: id, crc: crc, offset: start))
        return Self.oid(id)
    }

    /// Ends the pack, writes its index, and moves both to `pack-<sha>.pack` / `.idx`.
    /// Returns the pack's file name stem.
    func finish() throws -> String {
        guard entries.count == expectedCount else {
            throw WriteError(description: "the pack declared \(expectedCount) objects, got \(entries.count)")
        }
        let checksum = Array(packHash.finalize())
        try writeAll(checksum)
        let stem = "pack-\(Hex.encode(checksum))"
        try writeIndex(to: "\(directory)/\(stem).idx", packChecksum: checksum)
        try FileSystem.rename(temporaryPath, "\(directory)/\(stem).pack")
        finished = true
        return stem
    }

    private func deflate(
        _ stream: inout z_stream,
        _ input: UnsafeRawBufferPointer,
        finish: Bool,
        crc: inout UInt32
    ) throws {
        stream.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        )
        stream.avail_in = UInt32(input.count)
        while true {
            var status: Int32 = Z_OK
            let produced: Int = try outBuffer.withUnsafeMutableBytes { out in
                stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = UInt32(out.count)
                status = CSystemShims.deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw WriteError(description: "deflate failed (\(status))")
                }
                return out.count - Int(stream.avail_out)
            }
            if produced > 0 { try append(Array(outBuffer[0..<produced]), crc: &crc) }
            // Without finishing, stop once all input is consumed and the output was not full;
            // when finishing, stop at the end of the stream.
            if finish ? status == Z_STREAM_END : (stream.avail_in == 0 && produced < outBuffer.count) {
                return
            }
        }
    }

    private func append(_ bytes: [UInt8], crc: inout UInt32) throws {
        bytes.withUnsafeBytes { crc = rollback_crc32(crc, $0.baseAddress, $0.count) }
        packHash.update(data: bytes)
        try writeAll(bytes)
        offset += UInt64(bytes.count)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let count = write(fd, raw.baseAddress! + done, raw.count - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw FileSystem.Failure(call: "write", path: temporaryPath, code: errno)
                }
                done += count
            }
        }
    }

    private func writeIndex(to path: String, packChecksum: [UInt8]) throws {
        let sorted = entries.sorted { $0.id.lexicographicallyPrecedes($1.id) }
        var index: [UInt8] = [0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]
        func u32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { index.append(contentsOf: $0) } }
        var fanout = [UInt32](repeating: 0, count: 256)
        for entry in sorted { fanout[Int(entry.id[0])] += 1 }
        var running: UInt32 = 0
        for slot in 0..<256 {
            running += fanout[slot]
            u32(running)
        }
        for entry in sorted { index.append(contentsOf: entry.id) }
        for entry in sorted { u32(entry.crc) }
        var large: [UInt64] = []
        for entry in sorted {
            if entry.offset < 0x8000_0000 {
                u32(UInt32(entry.offset))
            } else {
                u32(0x8000_0000 | UInt32(large.count))
                large.append(entry.offset)
            }
        }
        for value in large { withUnsafeBytes(of: value.bigEndian) { index.append(contentsOf: $0) } }
        index.append(contentsOf: packChecksum)
        index.append(contentsOf: Insecure.SHA1.hash(data: index))
        try FileSystem.createFile(path, mode: 0o444) { write in
            try index.withUnsafeBytes { try write($0) }
        }
    }

    private static func oid(_ bytes: [UInt8]) -> git_oid {
        var id = git_oid()
        withUnsafeMutableBytes(of: &id) { $0.copyBytes(from: bytes.prefix(20)) }
        return id
    }
}
