import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmWasmKit

/// The two steps every suite's sidecar takes: a proxy carrying Istio's node
/// metadata, then a built module loaded into a VM on it. Starting the plugin is
/// left to the caller, whose configuration differs and who may expect the start
/// to be refused.
public enum Sidecar {
    /// A proxy named `name`; with `metadata`, Istio's node (`IstioTestdata.nodeMetadata(metadata)`,
    /// id `nodeID` or the name); with `direction`, the listener's `listener_direction`.
    public static func proxy(
        _ name: String, nodeID: String? = nil, metadata: String? = nil, direction: TrafficDirection? = nil,
        dialect: PropertyDialect = .current
    ) -> Proxy {
        let proxy = Proxy(name: name, dialect: dialect)
        if let metadata { proxy.setNode(id: nodeID ?? name, metadata: IstioTestdata.nodeMetadata(metadata)) }
        if let direction { proxy.setXDS("listener_direction", .int(direction.rawValue)) }
        return proxy
    }

    /// The built `module` (`BuiltModules`) loaded in WasmKit into a new VM `vmID` on `proxy`.
    @discardableResult
    public static func load(
        _ module: String, on proxy: Proxy, vmID: String, trace: TraceRecorder = TraceRecorder(enabled: false)
    ) throws -> (vm: PluginVM, guest: WasmKitGuest) {
        let vm = PluginVM(proxy: proxy, vmID: vmID, trace: trace)
        let guest = try WasmKitGuest.load(try BuiltModules.bytes(module), into: vm)
        return (vm, guest)
    }
}
