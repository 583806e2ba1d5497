import HTTPTypes

extension BrokerAPI {
    /// The methods the API takes on `path` (a concrete path such as `/v1/projects/shop/events`),
    /// sorted; empty when no route has that path. A `{parameter}` segment matches any one
    /// non-empty segment.
    static func allowedMethods(onPath path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let methods = routes.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            return pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { expected, actual in
                    expected.hasPrefix("{") ? !actual.isEmpty : expected == actual
                }
        }
        return Set(methods.map(\.method.rawValue)).sorted()
    }
}
