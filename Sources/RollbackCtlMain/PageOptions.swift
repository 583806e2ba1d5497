import ArgumentParser

/// `--limit` and `--cursor` of the commands that read a list one page at a time.
struct PageOptions: ParsableArguments {
    @Option(name: .long, help: "How many (1–200).") var limit: Int = 50
    @Option(name: .long, help: "Start after the previous page (its nextCursor).") var cursor: String?

    func validate() throws {
        guard (1...200).contains(limit) else { throw ValidationError("--limit must be from 1 to 200") }
    }

    /// The line that tells a person how to read on, or nothing on the last page.
    static func more(_ nextCursor: String?) -> String {
        nextCursor.map { "\n(more: --cursor \($0))" } ?? ""
    }
}
