import HTTPTypes

extension BrokerAPI {
    /// The methods the API takes on `path` (a concrete path such as `/v1/projects/shop/events`)
    /// among the routes `served` by this listener, sorted; empty when none has that path. A `{parameter}` segment matches any one
    /// non-empty segment.
    static func allowedMethods(onPath path: String, serving served: RouteSet) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let methods = routes.filter { route in
            guard served.contains(route.path) else { return false }
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            return pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { expected, actual in
                    expected.hasPrefix("{") ? !actual.isEmpty : expected == actual
                }
        }
        return Set(methods.map(\.method.rawValue)).sorted()
    }
}
