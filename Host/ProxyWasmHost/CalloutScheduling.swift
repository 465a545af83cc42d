import ProxyWasmABI

extension Proxy {
    /// Queues an answer for `due` (virtual nanoseconds).
    func schedule(_ delivery: PendingCallout.Delivery, vm: PluginVM, root: UInt32, token: UInt32, afterMilliseconds: UInt64) {
        calloutSequence += 1
        pendingCallouts.append(
            PendingCallout(
                due: clock.nanoseconds + afterMilliseconds * 1_000_000, sequence: calloutSequence,
                vm: vm, root: root, token: token, delivery: delivery))
    }

    /// The earliest pending answer due at or before `time`.
    func nextCallout(dueBy time: UInt64) -> Int? {
        var best: Int?
        for (index, pending) in pendingCallouts.enumerated() where pending.due <= time {
            if let current = best {
                let other = pendingCallouts[current]
                if (pending.due, pending.sequence) < (other.due, other.sequence) { best = index }
            } else {
                best = index
            }
        }
        return best
    }

    /// Delivers every answer already due (latency 0), each after the callback
    /// that caused it has returned, as Envoy's event loop does.
    public func deliverDueCallouts() {
        guard !deliveringCallouts else { return }
        deliveringCallouts = true
        defer { deliveringCallouts = false }
        while let index = nextCallout(dueBy: clock.nanoseconds) {
            let pending = pendingCallouts.remove(at: index)
            pending.vm.deliver(pending)
        }
    }

    /// Advances the clock to the next pending call-out answer and delivers it
    /// (ticks due before it fire first). False when nothing is pending.
    @discardableResult
    public func advanceToNextCallout() -> Bool {
        guard let next = pendingCallouts.min(by: { ($0.due, $0.sequence) < ($1.due, $1.sequence) }) else { return false }
        advanceClock(byMilliseconds: next.due > clock.nanoseconds ? (next.due - clock.nanoseconds + 999_999) / 1_000_000 : 0)
        return true
    }

    /// Whether any call-out answer is still waiting for its time.
    public var hasPendingCallouts: Bool { !pendingCallouts.isEmpty }
}
