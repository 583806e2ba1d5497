import RollbackProtocol
import Testing

@Suite("PathSelection: the patterns of a selective rollback")
struct PathSelectionTests {
    @Test(
        "patterns select what they name and everything under it",
        arguments: [
            ("package.json", "package.json", true),
            ("package.json", "src/package.json", false),
            ("src/config", "src/config/a.json", true),
            ("src/config/**", "src/config/deep/a.json", true),
            ("src/config/**", "src/configs/a.json", false),
            ("src/**/*.json", "src/a.json", true),
            ("src/**/*.json", "src/x/y/a.json", true),
            ("src/**/*.json", "src/x/y/a.js", false),
            ("*.md", "README.md", true),
            ("*.md", "docs/README.md", false),
            ("**/*.md", "docs/README.md", true),
            ("file?.txt", "file1.txt", true),
            ("file[0-9].txt", "file7.txt", true),
            ("file[!0-9].txt", "file7.txt", false),
            ("file[!0-9].txt", "filex.txt", true),
        ]
    )
    func matching(pattern: String, path: String, selected: Bool) throws {
        let selection = try #require(PathSelection([pattern]))
        #expect(selection.matches(path) == selected)
    }

    @Test(
        "patterns that could leave the working directory or touch .git are refused",
        arguments: [
            [], ["/etc/passwd"], ["../x"], ["a/../b"], [".git/config"], ["a//b"], ["a\\b"], [""], ["a/./b"],
        ]
    )
    func refused(patterns: [String]) {
        #expect(PathSelection(patterns) == nil)
        #expect(PathSelection.check(patterns) == PathSelection.rule)
    }
}
