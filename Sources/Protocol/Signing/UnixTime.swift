#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wall-clock seconds since the Unix epoch, the unit of the auth section's `ts`.
public enum UnixTime {
    public static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970.rounded(.down))
    }
}
