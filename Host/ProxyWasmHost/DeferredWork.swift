/// Work Envoy defers until the running VM call returns: roots whose `proxy_done`
/// arrived, to delete, and the `proxy_on_queue_ready` notifications enqueues
/// posted (Envoy posts them to the dispatcher). `PluginVM.runDeferredActions`
/// drains the deletes first, then the notifications.
struct DeferredWork {
    private var deletes: [UInt32] = []
    private var queueNotifications: [(root: UInt32, token: UInt32)] = []

    /// A root to delete once the call returns.
    mutating func deleteRoot(_ root: UInt32) { deletes.append(root) }

    /// A queue-ready notification for `root`, once the call returns.
    mutating func notifyQueueReady(root: UInt32, token: UInt32) { queueNotifications.append((root, token)) }

    /// The next root to delete, oldest first.
    mutating func nextDelete() -> UInt32? { deletes.isEmpty ? nil : deletes.removeFirst() }

    /// The next notification to deliver, oldest first.
    mutating func nextQueueNotification() -> (root: UInt32, token: UInt32)? {
        queueNotifications.isEmpty ? nil : queueNotifications.removeFirst()
    }
}
