/// Character rules for the strings that enter the signing input. Each is a single line, so the
/// LF separators of the signing input stay unambiguous.
enum Tokens {
    /// `[A-Za-z0-9._~-]`, used by key ids, nonces and agent ids.
    static func isToken(_ text: String, length: ClosedRange<Int>) -> Bool {
        length.contains(text.utf8.count) && text.utf8.allSatisfy(isTokenByte)
    }

    /// Method names additionally allow `$` and `/` (as in `$/cancelRequest`).
    static func isMethodName(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count)
            && text.utf8.allSatisfy { isTokenByte($0) || $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "/") }
    }

    /// A string request id: 1–256 bytes with no CR or LF.
    static func isSignableID(_ id: RequestID) -> Bool {
        switch id {
        case .number: true
        case .string(let text):
            (1...256).contains(text.utf8.count) && !text.utf8.contains(10) && !text.utf8.contains(13)
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
