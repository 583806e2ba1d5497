public import Logging

/// The one way a Rollback process sets up swift-log: level and format from its configuration.
public enum LoggingSetup {
    /// Bootstraps swift-log once per process, writing to standard error.
    /// - Parameter metadataProvider: adds metadata to every line, e.g. the current span's
    ///   `trace_id` when tracing is on.
    public static func bootstrap(
        level: String,
        format: LogFormat,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap(
            { label, provider in
                switch format {
                case .text:
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                case .json:
                    var handler = JSONLogHandler(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }
            },
            metadataProvider: metadataProvider
        )
    }
}
