import ProxyWasmABI

// Properties: Envoy's attributes, filter state set by plugins, declared FlatBuffers values.

extension PluginVM {
    // MARK: properties

    /// The value at a property path for the active context, as Envoy's
    /// `Context::getProperty` resolves it (also what CEL expressions read).
    func propertyValue(_ segments: [String]) -> PropertyNode? {
        let context = activeContext
        let isStream = context.map { $0.kind != .root } ?? false
        let resolver = PropertyResolver(dialect: proxy.dialect)
        var proxyTree = proxy.properties
        if let context, let plugin = registry.plugin(ofRoot: context.rootID) {
            proxyTree = proxyTree.merged(
                with: .map([
                    PropertyEntry("plugin_name", .string(plugin.name)),
                    PropertyEntry("plugin_root_id", .string(plugin.rootID)),
                    PropertyEntry("plugin_vm_id", .string(plugin.vmID)),
                ]))
        }
        return resolver.resolve(
            segments, proxy: proxyTree,
            stream: isStream ? (context?.streamProperties ?? .map([])) : nil,
            filterState: isStream ? context?.filterState : nil,
            declarations: isStream ? context?.stream.declarations ?? [:] : [:])
    }

    func proxyGetProperty(path pathBytes: [UInt8], value output: BytesOutput) throws -> UInt32 {
        let name = "proxy_get_property"
        let args = { ["path": PropertyPath.display(pathBytes)] }
        guard let segments = try? PropertyPath.decodeStrings(pathBytes) else {
            return finish(name, .notFound, args: args())
        }
        guard let value = propertyValue(segments) else {
            return finish(name, .notFound, args: args())
        }
        let bytes = value.serialized
        let status = try copyOut(bytes, to: output)
        return finish(name, status, args: args(), result: describe(value, at: segments))
    }

    /// A property value for the trace; a whole filter-state object declared
    /// as FlatBuffers (a peer) decoded, as `proxy_set_property` shows it.
    func describe(_ value: PropertyNode, at segments: [String]) -> String {
        if segments.count == 1, case let .bytes(raw) = value, let context = activeContext,
            let declaration = context.stream.declarations["wasm." + segments[0]], declaration.type == .flatBuffers
        {
            return Self.displayFilterState(raw, declaration: declaration)
        }
        return "\(value.typeName) \(TraceText.value(value))"
    }

    func proxySetProperty(path: [UInt8], value: [UInt8]) throws -> UInt32 {
        let name = "proxy_set_property"
        let key = "wasm." + String(decoding: path, as: UTF8.self)
        // The declaration is looked up for the trace only when one is recorded.
        let args = {
            [
                "path": PropertyPath.display(path),
                "value": PluginVM.displayFilterState(value, declaration: self.declaredProperties[String(decoding: path, as: UTF8.self)]),
            ]
        }
        guard let context = activeContext, context.kind != .root else { return finish(name, .notFound, args: args()) }
        context.filterState[key] = value
        if context.stream.declarations[key] == nil, let declaration = declaredProperties[String(decoding: path, as: UTF8.self)] {
            context.stream.declarations[key] = declaration
        }
        return finish(name, .ok, args: args())
    }
}
