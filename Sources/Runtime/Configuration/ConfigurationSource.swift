/// Where a configuration value came from. Later sources win: default, file, environment, flag,
/// `--set`.
public enum ConfigurationSource: Hashable, Sendable, CustomStringConvertible {
    case defaultValue
    case file(path: String)
    case environment(variable: String)
    case flag(name: String)
    case assignment

    public var description: String {
        switch self {
        case .defaultValue: "the default"
        case .file(let path): path
        case .environment(let variable): variable
        case .flag(let name): name
        case .assignment: "--set"
        }
    }
}
