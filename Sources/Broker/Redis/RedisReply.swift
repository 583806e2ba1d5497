/// A Redis reply (RESP2), copied out of hiredis's memory.
public enum RedisReply: Hashable, Sendable {
    case string(String)
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error reply, such as `WRONGTYPE …`; a failed command, not a failed connection.
    case error(String)
}
