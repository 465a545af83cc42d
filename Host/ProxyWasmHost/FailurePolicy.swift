// What Envoy does with a plugin's traffic once its VM has failed: `fail_open` bypasses the
// filter, otherwise streams and connections are failed.

extension PluginVM {
    /// The failure policy of the plugin behind `root`.
    func failsOpen(_ root: UInt32) -> Bool { registry.plugin(ofRoot: root)?.failOpen ?? false }

    /// Envoy's failure policy for a stream or connection of a failed VM:
    /// fail-open bypasses the filter, except on the stream whose callback
    /// trapped (that one is failed either way).
    func bypassesAfterFailure(root: UInt32, context: UInt32?) -> Bool {
        failsOpen(root) && !trappedOn(context)
    }

    /// Whether the VM failed while running a callback on `context`.
    func trappedOn(_ context: UInt32?) -> Bool {
        guard let context, let failure else { return false }
        return failure.state == .runtimeError && failure.contextID == context
    }
}
