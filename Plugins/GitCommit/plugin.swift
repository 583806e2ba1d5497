import Foundation
import PackagePlugin

/// Writes `GitCommit.swift` (`let gitCommit = "<short id>"`) before each build, so that
/// `--version` names the commit a binary was built from. Rewritten only when the id changes,
/// so an unchanged checkout recompiles nothing.
@main
struct GitCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = """
            mkdir -p "$1"
            commit=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && [ -n "$(git -C "$2" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                commit="$commit-modified"
            fi
            printf 'let gitCommit = "%s"\\n' "$commit" > "$1/GitCommit.swift.new"
            if cmp -s "$1/GitCommit.swift.new" "$1/GitCommit.swift"; then
                rm -f "$1/GitCommit.swift.new"
            else
                mv "$1/GitCommit.swift.new" "$1/GitCommit.swift"
            fi
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git commit",
                executable: URL(filePath: "/bin/sh"),
                arguments: ["-c", script, "git-commit", output.path, context.package.directoryURL.path],
                outputFilesDirectory: output
            )
        ]
    }
}
