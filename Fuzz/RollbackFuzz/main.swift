import CFuzzDriver
import RollbackFuzzChecks

#if canImport(Glibc)
import Glibc
#endif

// `rollback-fuzz`: libFuzzer driving one of the checks in `RollbackFuzzChecks`, chosen by
// `ROLLBACK_FUZZ_TARGET` (`frames`, `messages`, `bodies`, `archive`); every other argument is
// libFuzzer's (`-runs=N`, corpus directories, …). Built only by `scripts/fuzz`.

let name = getenv("ROLLBACK_FUZZ_TARGET").map { String(cString: $0) } ?? ""
guard let target = FuzzTarget(rawValue: name) else {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    let message = "rollback-fuzz: set ROLLBACK_FUZZ_TARGET to one of: \(names)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
/// Read by the callback, which libFuzzer calls with C's convention and no context.
nonisolated(unsafe) var chosen = target

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        chosen.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
)
