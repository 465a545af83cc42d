// Shared data (a key/value store shared by every VM with the same vm_id, with
// compare-and-swap) and shared queues.

/// A value in shared data with its CAS token.
public struct SharedValue: Equatable {
    public let bytes: [UInt8]
    public let cas: UInt32
}

/// The host's shared key/value store.
public enum SharedData {
    /// The value of `key` and its CAS token, or `nil` if absent.
    public static func get(_ key: String) throws(HostError) -> SharedValue? {
        var cas: UInt32 = 0
        let result: Result<[UInt8], HostError> = withUTF8Bytes(key) { k in
            do throws(HostError) {
                return .success(try hostBytes { proxy_get_shared_data(k.baseAddress, k.count, $0, $1, &cas) })
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case let .success(bytes): return SharedValue(bytes: bytes, cas: cas)
        case let .failure(error):
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// Stores `value`. With a non-zero `cas` the write fails with `CasMismatch`
    /// if the key changed since that token was read.
    public static func set(_ key: String, _ value: [UInt8], cas: UInt32 = 0) throws(HostError) {
        try check(
            withUTF8Bytes(key) { k in
                withBytes(value) { v in proxy_set_shared_data(k.baseAddress, k.count, v.baseAddress, v.count, cas) }
            })
    }
}

/// A shared queue, identified by its token.
public struct SharedQueue: Equatable {
    public let token: UInt32

    public init(token: UInt32) { self.token = token }

    /// Registers (or re-registers) `name` in this VM; `proxy_on_queue_ready`
    /// then fires on the calling root context.
    public static func register(_ name: String) throws(HostError) -> SharedQueue {
        var token: UInt32 = 0
        try check(withUTF8Bytes(name) { proxy_register_shared_queue($0.baseAddress, $0.count, &token) })
        return SharedQueue(token: token)
    }

    /// Finds a queue registered by VM `vmID` (empty: this VM), `nil` if none.
    public static func resolve(vmID: String, name: String) throws(HostError) -> SharedQueue? {
        var token: UInt32 = 0
        let status = withUTF8Bytes(vmID) { vm in
            withUTF8Bytes(name) { n in proxy_resolve_shared_queue(vm.baseAddress, vm.count, n.baseAddress, n.count, &token) }
        }
        if status == WasmResult.notFound.rawValue { return nil }
        try check(status)
        return SharedQueue(token: token)
    }

    public func enqueue(_ data: [UInt8]) throws(HostError) {
        try check(withBytes(data) { proxy_enqueue_shared_queue(token, $0.baseAddress, $0.count) })
    }

    /// The next item, or `nil` when the queue is empty.
    public func dequeue() throws(HostError) -> [UInt8]? {
        do throws(HostError) {
            return try hostBytes { proxy_dequeue_shared_queue(token, $0, $1) }
        } catch {
            if error.status == .empty { return nil }
            throw error
        }
    }
}
