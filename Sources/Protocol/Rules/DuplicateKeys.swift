/// Finds a key that appears twice in one JSON object. Parsers disagree on such a body (most
/// keep the last value, Foundation keeps the first), so a caller and the broker could read
/// different requests from the same signed bytes: every such body is refused.
public enum DuplicateKeys {
    /// The dotted path of the first duplicated key (`userId`, `artifact.url`), or nil. Expects
    /// well-formed JSON (check that first); on malformed input it returns nil or a best guess.
    public static func first(in json: some Collection<UInt8>) -> String? {
        var scanner = Scanner(bytes: Array(json))
        return scanner.run()
    }

    private struct Scanner {
        /// One open container: for an object, the keys seen so far and the key of its last value.
        struct Frame {
            var isObject: Bool
            var keys: Set<[UInt8]> = []
            var expectingKey = false
            var lastKey: String = ""
        }

        let bytes: [UInt8]
        var index = 0
        var stack: [Frame] = []

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func run() -> String? {
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"):
                    stack.append(Frame(isObject: true, expectingKey: true))
                    index += 1
                case UInt8(ascii: "["):
                    stack.append(Frame(isObject: false))
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = stack.popLast()
                    index += 1
                case UInt8(ascii: ","):
                    if !stack.isEmpty, stack[stack.count - 1].isObject {
                        stack[stack.count - 1].expectingKey = true
                    }
                    index += 1
                case UInt8(ascii: "\""):
                    let string = readString()
                    if !stack.isEmpty, stack[stack.count - 1].isObject, stack[stack.count - 1].expectingKey {
                        stack[stack.count - 1].expectingKey = false
                        let key = Self.unescaped(string)
                        let name = String(decoding: key, as: UTF8.self)
                        if !stack[stack.count - 1].keys.insert(key).inserted {
                            return path(ending: name)
                        }
                        stack[stack.count - 1].lastKey = name
                    }
                default:
                    index += 1
                }
            }
            return nil
        }

        /// The raw bytes between the quotes; `index` ends after the closing quote.
        mutating func readString() -> ArraySlice<UInt8> {
            let start = index + 1
            index = start
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "\\") {
                    index += 2
                } else if bytes[index] == UInt8(ascii: "\"") {
                    defer { index += 1 }
                    return bytes[start..<index]
                } else {
                    index += 1
                }
            }
            return bytes[start..<min(index, bytes.count)]
        }

        func path(ending key: String) -> String {
            let parents = stack.dropLast().filter(\.isObject).map(\.lastKey)
            return (parents + [key]).joined(separator: ".")
        }

        /// `"a"` and `"\u0061"` are the same key: compare keys after their escapes are undone.
        static func unescaped(_ raw: ArraySlice<UInt8>) -> [UInt8] {
            guard raw.contains(UInt8(ascii: "\\")) else { return Array(raw) }
            let quoted = [UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")]
            if let text = try? JSONCoding.decode(String.self, from: quoted) { return Array(text.utf8) }
            return Array(raw)
        }
    }
}
