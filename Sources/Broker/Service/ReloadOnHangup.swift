import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads what an operator may change without a restart — the keyring, and the TLS
/// certificate and key — each time the process gets `SIGHUP`. A reload that fails keeps what
/// was loaded before and logs why; open connections are not touched either way.
struct ReloadOnHangup: Service {
    /// One thing to reload: its name for the log, and how (throws when the new files are bad).
    struct Reloadable: Sendable {
        var name: String
        var reload: @Sendable () throws -> String
    }

    let reloadables: [Reloadable]
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            for item in reloadables {
                do {
                    let summary = try item.reload()
                    logger.notice("reloaded \(item.name) on SIGHUP: \(summary)")
                } catch {
                    logger.error(
                        "cannot reload \(item.name) on SIGHUP; keeping the one loaded before",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
        }
    }
}
