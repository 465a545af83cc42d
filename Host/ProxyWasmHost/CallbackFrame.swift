/// What Envoy tracks about the callback a VM is running: the context it runs
/// on, the context the plugin made effective with `proxy_set_effective_context`,
/// which host calls Envoy's V8 allows right now,
/// whether the plugin configuration is readable, and whether a local reply
/// overrides the callback's result.
struct CallbackFrame {
    /// Envoy's V8 restricts host calls during `_initialize` and the allocator.
    enum Restriction { case none, startup, allocator }

    var currentContextID: UInt32 = 0
    var effectiveContextID: UInt32 = 0
    var restriction: Restriction = .none
    /// Inside `proxy_on_configure` (and the root's first context create): the
    /// root whose plugin configuration buffer is readable.
    var configurationReadableRoot: UInt32?
    /// Set by `proxy_send_local_response`: overrides the callback's return value.
    var sentLocalReply = false
}
