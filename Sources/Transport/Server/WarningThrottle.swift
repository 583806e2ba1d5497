import Logging
import Synchronization

/// Lets a kind of warning through at most once per `interval`; the next one let through says
/// how many were held back meanwhile (`log.suppressed`). The socket's refusals are logged this
/// way: each one is worth knowing about, but a flood of bad connections (a confused client in a
/// loop, or an attack) must not become thousands of lines an operator scrolls past, nor fill
/// the disk the working directories live on.
final class WarningThrottle: Sendable {
    private struct Window {
        var lastLogged: ContinuousClock.Instant
        var heldBack: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    let interval: Duration

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether a warning of `kind` may be logged now: nil to hold it back, else how many of its
    /// kind were held back since the last one logged.
    func admit(_ kind: String, at now: ContinuousClock.Instant = .now) -> Int? {
        windows.withLock { windows in
            guard let window = windows[kind], now - window.lastLogged < interval else {
                let heldBack = windows[kind]?.heldBack ?? 0
                windows[kind] = Window(lastLogged: now, heldBack: 0)
                return heldBack
            }
            windows[kind]?.heldBack += 1
            return nil
        }
    }
}

extension Logger {
    /// A warning, unless `throttle` holds it back; `message` is also its kind.
    func warning(
        _ message: String,
        throttledBy throttle: WarningThrottle,
        metadata: Logger.Metadata = [:]
    ) {
        guard let heldBack = throttle.admit(message) else { return }
        var metadata = metadata
        if heldBack > 0 { metadata["log.suppressed"] = "\(heldBack)" }
        warning("\(message)", metadata: metadata)
    }
}
