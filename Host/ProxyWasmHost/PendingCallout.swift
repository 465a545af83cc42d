/// A call-out answer waiting for its virtual time.
struct PendingCallout {
    enum Delivery {
        case http(HttpCalloutReply)
        case grpc(GrpcCalloutEvent)
    }

    let due: UInt64
    let sequence: UInt64
    unowned let vm: PluginVM
    let root: UInt32
    let token: UInt32
    let delivery: Delivery
}
