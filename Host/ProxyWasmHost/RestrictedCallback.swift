/// A host call the guest is not allowed to make now (Envoy V8: only
/// `proxy_log` and WASI during `_initialize`, a few during the allocator).
public struct RestrictedCallback: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "restricted_callback: \(name)" }
}
