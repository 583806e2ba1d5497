import Logging

/// The one way a Rollback process sets up swift-log: level and format from its configuration.
public enum LoggingSetup {
    /// Bootstraps swift-log once per process, writing to standard error.
    public static func bootstrap(level: String, format: LogFormat) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
