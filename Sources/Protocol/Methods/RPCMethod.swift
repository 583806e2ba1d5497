/// A request method of the protocol: its name and the types of its params and result.
public protocol RPCMethod: Sendable {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var name: String { get }
}

/// A notification of the protocol: its name and the type of its params.
public protocol RPCNotificationMethod: Sendable {
    associatedtype Params: Codable & Sendable
    static var name: String { get }
}

/// Params of methods that take none; sent as `{}`.
public struct EmptyParams: Codable, Hashable, Sendable {
    public init() {}
}
