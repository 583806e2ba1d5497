import HTTPTypes
import Hummingbird
import Logging

/// Turns every failure into the API's one error shape, and adds `X-Request-Id` to every
/// response. Unexpected errors are logged in full and answered with a short 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    /// The routes of this listener (a method not taken is 405 only on a path served here).
    let served: BrokerAPI.RouteSet

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            if error.status.code >= 500 {
                context.logger.warning(
                    "request failed",
                    metadata: ["error.code": "\(error.code)", "error": "\(error.message)"]
                )
            }
            response = APIResponse(error).response
        } catch let error as HTTPError {
            response = APIResponse(Self.translate(error, path: request.uri.path, served: served)).response
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            response =
                APIResponse(
                    APIError(
                        .internalServerError,
                        "internal_error",
                        "the broker failed unexpectedly; the request id is in the logs",
                        details: ["requestId": context.id]
                    )
                ).response
        }
        response.headers[HTTPField.Name("X-Request-Id")!] = context.id
        return response
    }

    static func translate(_ error: HTTPError, path: String, served: BrokerAPI.RouteSet) -> APIError {
        switch error.status {
        case .notFound:
            // A path the API serves, with a method it does not take: 405 and what it takes (the
            // contract test found these answered 404).
            if case let allowed = BrokerAPI.allowedMethods(onPath: path, serving: served), !allowed.isEmpty {
                methodNotAllowed(path: path, allowed: allowed)
            } else {
                APIError(.notFound, "route_not_found", "no endpoint at \(path); see spec/openapi.yaml")
            }
        case .methodNotAllowed:
            APIError(.methodNotAllowed, "method_not_allowed", "\(path) does not take this method")
        case .contentTooLarge:
            APIError(.contentTooLarge, "body_too_large", "the request body is too large")
        default:
            APIError(error.status, "http_error", error.body ?? error.status.reasonPhrase)
        }
    }

    private static func methodNotAllowed(path: String, allowed: [String]) -> APIError {
        let allow = allowed.joined(separator: ", ")
        var error = APIError(
            .methodNotAllowed,
            "method_not_allowed",
            "\(path) takes \(allow) only",
            details: ["allow": allow]
        )
        error.headers = [(.allow, allow)]
        return error
    }
}
