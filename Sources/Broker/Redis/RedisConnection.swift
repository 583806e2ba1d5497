import CHiredis

/// One blocking connection to Redis through hiredis. The only type that touches hiredis.
///
/// Every call blocks the calling thread, so callers run it on a thread pool, never on Swift's
/// cooperative pool.
///
/// `@unchecked Sendable` because `RedisClient` moves idle connections between its pool threads:
/// a connection is popped from the locked idle list by exactly one thread, used, and pushed
/// back, so no two threads ever touch one hiredis context at once.
public final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    public let endpoint: String

    /// Connects with a timeout for the connection and for each command.
    public init(host: String, port: Int, timeout: Duration = .seconds(2)) throws(RedisError) {
        endpoint = "\(host):\(port)"
        let components = timeout.components
        let tv = timeval(
            tv_sec: Int(components.seconds),
            tv_usec: Int(components.attoseconds / 1_000_000_000_000)
        )
        guard let context = redisConnectWithTimeout(host, Int32(port), tv) else {
            throw RedisError(
                code: .unreachable,
                message: "hiredis could not allocate a context",
                endpoint: endpoint
            )
        }
        if context.pointee.err != 0 {
            let message = Self.message(of: context)
            redisFree(context)
            throw RedisError(code: .unreachable, message: message, endpoint: endpoint)
        }
        redisSetTimeout(context, tv)
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command, e.g. `["SET", key, value, "NX", "EX", "360"]`, and waits for its reply.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        let cStrings = arguments.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var argv: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
        var lengths: [Int] = arguments.map { $0.utf8.count }
        let raw = redisCommandArgv(context, Int32(arguments.count), &argv, &lengths)
        guard let raw else {
            let code: RedisError.Code = context.pointee.err == REDIS_ERR_PROTOCOL ? .protocolError : .io
            throw RedisError(code: code, message: Self.message(of: context), endpoint: endpoint)
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
    }

    /// Sends several commands in one write and reads their replies in order: one round trip.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        for arguments in commands {
            let cStrings = arguments.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            var argv: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
            var lengths: [Int] = arguments.map { $0.utf8.count }
            guard redisAppendCommandArgv(context, Int32(arguments.count), &argv, &lengths) == REDIS_OK else {
                throw RedisError(code: .io, message: Self.message(of: context), endpoint: endpoint)
            }
        }
        var replies: [RedisReply] = []
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                let code: RedisError.Code = context.pointee.err == REDIS_ERR_PROTOCOL ? .protocolError : .io
                throw RedisError(code: code, message: Self.message(of: context), endpoint: endpoint)
            }
            defer { freeReplyObject(raw) }
            replies.append(Self.convert(raw.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func text() -> String {
            guard let str = value.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: Int(value.len)), as: UTF8.self)
        }
        switch Int32(value.type) {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).map { convert(value.element[$0]!) })
        default: return .error("unknown reply type \(value.type)")
        }
    }

    /// `errstr` is a fixed-size C array, which Swift imports as a tuple.
    private static func message(of context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
