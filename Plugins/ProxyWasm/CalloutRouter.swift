// The call-outs a VM is waiting on, by the token the host gave each, and the
// routing of their answers to the handlers given when the calls were made.
//
// The dispatcher reaches the router only through `CalloutHooks`, made by the
// first call-out: a module that never calls out links none of this. Entries are a plain array searched linearly: a VM
// waits on few call-outs at a time, and an array costs a fraction of a
// Dictionary's generic specialisations in every module that does.

/// What a call-out's answers go to.
enum CalloutHandler {
    case http((HttpCalloutResponse) -> Void)
    /// A unary call ends with its reply message (Envoy sends no close after a success).
    case grpc(isUnary: Bool, GrpcHandlers)
}

/// One answer event of a gRPC call or stream.
enum GrpcCalloutEvent {
    case initialMetadata(count: Int)
    case message(size: Int)
    case trailingMetadata(count: Int)
    case close(code: UInt32)
}

/// What the dispatcher can do with call-outs: closures over the VM's
/// `CalloutRouter`, made by its first call-out. Closures rather than a
/// protocol: an unused witness table still links the router into every
/// module; a closure that is never made does not.
struct CalloutHooks {
    let add: (_ token: UInt32, _ contextID: UInt32, CalloutHandler) -> Void
    let remove: (_ token: UInt32) -> Void
    /// Delivers an HTTP answer (header and trailer counts, body size); false
    /// when the token is not a call-out made through the SDK.
    let deliverHttp: (_ token: UInt32, _ headers: Int, _ body: Int, _ trailers: Int, Dispatcher) -> Bool
    let deliverGrpc: (_ token: UInt32, GrpcCalloutEvent, Dispatcher) -> Void
    /// A deleted context's call-outs: their answers have nobody to go to.
    let abandonAll: (_ contextID: UInt32) -> Void

    init(_ router: CalloutRouter) {
        add = { router.add($0, contextID: $1, $2) }
        remove = { router.remove($0) }
        deliverHttp = { router.deliverHttp($0, headers: $1, body: $2, trailers: $3, dispatcher: $4) }
        deliverGrpc = { router.deliverGrpc($0, $1, dispatcher: $2) }
        abandonAll = { router.abandonAll(madeBy: $0) }
    }
}

final class CalloutRouter {
    struct Pending {
        let token: UInt32
        let contextID: UInt32
        let handler: CalloutHandler
        /// The context was deleted before the answer came: the answer is
        /// dropped (not handed to the root), then the entry is forgotten.
        var abandoned = false
    }

    private var entries: [Pending] = []

    func add(_ token: UInt32, contextID: UInt32, _ handler: CalloutHandler) {
        entries.append(Pending(token: token, contextID: contextID, handler: handler))
    }

    private func entry(_ token: UInt32) -> Pending? {
        for entry in entries where entry.token == token { return entry }
        return nil
    }

    func remove(_ token: UInt32) {
        for index in entries.indices where entries[index].token == token {
            entries.swapAt(index, entries.count - 1)
            entries.removeLast()
            return
        }
    }

    func abandonAll(madeBy contextID: UInt32) {
        for index in entries.indices where entries[index].contextID == contextID { entries[index].abandoned = true }
    }

    /// Reads what the host offers for this answer while it is still the
    /// root's (switching the effective context hides it), then runs the handler.
    func deliverHttp(_ token: UInt32, headers: Int, body: Int, trailers: Int, dispatcher: Dispatcher) -> Bool {
        guard let pending = entry(token) else { return false }
        remove(token)
        guard !pending.abandoned, case let .http(handler) = pending.handler else { return true }
        let response = HttpCalloutResponse(
            token: token,
            headers: headers == 0 ? [] : (try? HeaderMap(.httpCallResponseHeaders).pairs()) ?? [],
            body: body == 0 ? [] : (try? Buffer.httpCallResponseBody.bytes(maxSize: body)) ?? [],
            trailers: trailers == 0 ? [] : (try? HeaderMap(.httpCallResponseTrailers).pairs()) ?? [])
        dispatcher.makeEffective(pending.contextID)
        handler(response)
        return true
    }

    func deliverGrpc(_ token: UInt32, _ event: GrpcCalloutEvent, dispatcher: Dispatcher) {
        guard let pending = entry(token), case let .grpc(isUnary, handlers) = pending.handler else { return }
        let final: Bool
        switch event {
        case .close: final = true
        case .message: final = isUnary
        case .initialMetadata, .trailingMetadata: final = false
        }
        if final { remove(token) }
        guard !pending.abandoned else { return }
        switch event {
        case let .initialMetadata(count):
            let metadata = count == 0 ? [] : (try? HeaderMap(.grpcCallInitialMetadata).pairs()) ?? []
            dispatcher.makeEffective(pending.contextID)
            handlers.onInitialMetadata?(metadata)
        case let .message(size):
            let message = size == 0 ? [] : (try? Buffer(.grpcReceiveBuffer).bytes(maxSize: size)) ?? []
            dispatcher.makeEffective(pending.contextID)
            handlers.onMessage?(message)
        case let .trailingMetadata(count):
            let metadata = count == 0 ? [] : (try? HeaderMap(.grpcCallTrailingMetadata).pairs()) ?? []
            dispatcher.makeEffective(pending.contextID)
            handlers.onTrailingMetadata?(metadata)
        case let .close(code):
            let message = (try? StreamControl.status().message) ?? ""
            dispatcher.makeEffective(pending.contextID)
            handlers.onClose?(GrpcCallStatus(code: code, message: message))
        }
    }
}
