import Hummingbird
import Logging
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/builds`: admission for the build system. A settled project's build goes to the
    /// build sink now; a rolling-back project's build is held in PostgreSQL until the rollback
    /// ends (released in order on success, purged on failure); after a failed rollback builds
    /// are refused until someone rolls back successfully.
    func admitBuild(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "build.admit")
        return try await audited(action: "build.admit", signed: signed, context: context) {
            subject in
            let body = try RequestBody.decode(
                BuildRequest.self,
                from: signed.body
            )
            subject.projectID = body.projectID
            try FieldRules.projectID(body.projectID)
            try FieldRules.id(body.buildID, field: "buildId")
            let payload = body.payload.map { String(decoding: BrokerJSON.encode($0), as: UTF8.self) }
            if let payload, payload.utf8.count > 16 * 1024 {
                throw APIError.invalidField("payload", "must be at most 16 KiB of JSON")
            }
            let (admission, status) = try await builds.admit(
                body,
                payload: payload,
                caller: signed.caller(context)
            )
            return APIResponse(status: status, json: admission)
        }
    }
}
