import ProxyWasmABI
import TelemetryCore

/// A plugin's root context: its configuration and identity.
public struct PluginConfiguration: Sendable {
    public var name: String
    public var rootID: String
    public var vmID: String
    public var configuration: [UInt8]
    public var vmConfiguration: [UInt8]
    /// Envoy `failure_policy: FAIL_OPEN`: a failed VM is bypassed instead of answering 503.
    public var failOpen: Bool

    public init(
        name: String, rootID: String? = nil, vmID: String? = nil, configuration: [UInt8] = [],
        vmConfiguration: [UInt8] = [], failOpen: Bool = false
    ) {
        self.name = name
        self.rootID = rootID ?? name
        self.vmID = vmID ?? name
        self.configuration = configuration
        self.vmConfiguration = vmConfiguration
        self.failOpen = failOpen
    }
}
