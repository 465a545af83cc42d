import ProxyWasmABI

// Header and trailer maps: get, add, replace, remove, pairs, size, as Envoy answers them.

extension PluginVM {
    // The rules themselves are HeaderMapRules; these apply them to the active context's maps.

    // MARK: header maps

    func proxyGetHeaderMapValue(map mapType: HeaderMapType, key: [UInt8], value output: BytesOutput) throws -> UInt32 {
        let name = "proxy_get_header_map_value"
        let args = { ["map": mapType.name, "key": PluginVM.display(key)] }
        guard let context = activeContext else { return finish(name, .badArgument, args: args()) }
        switch context.access(mapType) {
        case .unavailable: return finish(name, .badArgument, args: args())
        case .notFound: return finish(name, .notFound, args: args())
        case .readOnly, .mutable: break
        }
        guard let value = HeaderMapRules.value(of: key, in: context.headerMaps[mapType, default: []]) else {
            return finish(name, .notFound, args: args())
        }
        let status = try copyOut(value, to: output)
        return finish(name, status, args: args(), result: String(decoding: value, as: UTF8.self))
    }

    func proxyAddHeaderMapValue(map mapType: HeaderMapType, key: [UInt8], value: [UInt8]) throws -> UInt32 {
        edit(mapType, .add(key: key, value: value))
    }

    func proxyReplaceHeaderMapValue(map mapType: HeaderMapType, key: [UInt8], value: [UInt8]) throws -> UInt32 {
        edit(mapType, .replace(key: key, value: value))
    }

    func proxyRemoveHeaderMapValue(map mapType: HeaderMapType, key: [UInt8]) throws -> UInt32 {
        edit(mapType, .remove(key: key))
    }

    /// Applies one edit to the active context's map, if the callback may change it.
    private func edit(_ mapType: HeaderMapType, _ edit: HeaderMapEdit) -> UInt32 {
        var args: [String: String] {
            var described = ["map": mapType.name, "key": PluginVM.display(edit.key)]
            if let value = edit.value { described["value"] = PluginVM.display(value) }
            return described
        }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(edit.callName, .badArgument, args: args)
        }
        edit.apply(to: &context.headerMaps[mapType, default: []])
        return finish(edit.callName, .ok, args: args)
    }

    func proxyGetHeaderMapPairs(map mapType: HeaderMapType, pairs output: BytesOutput) throws -> UInt32 {
        let name = "proxy_get_header_map_pairs"
        var pairs: [HeaderPair] = []
        if let context = activeContext, context.access(mapType) == .readOnly || context.access(mapType) == .mutable {
            pairs = context.headerMaps[mapType, default: []]
        }
        let status = try copyOut(pairs.isEmpty ? [] : HeaderPairs.encode(pairs), to: output)
        return finish(name, status, args: ["map": mapType.name], result: PluginVM.displayPairs(pairs))
    }

    func proxySetHeaderMapPairs(map mapType: HeaderMapType, pairs bytes: [UInt8]) throws -> UInt32 {
        let name = "proxy_set_header_map_pairs"
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        // Envoy parses malformed pairs as an empty map: every header is removed.
        let pairs = HeaderMapRules.decode(bytes)
        context.headerMaps[mapType] = pairs
        return finish(name, .ok, args: ["map": mapType.name, "pairs": PluginVM.displayPairs(pairs)])
    }

    func proxyGetHeaderMapSize(map mapType: HeaderMapType, size output: WordOutput) throws -> UInt32 {
        let name = "proxy_get_header_map_size"
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        let size = HeaderMapRules.byteSize(context.headerMaps[mapType, default: []])
        guard store(UInt32(size), in: output) else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["map": mapType.name], result: String(size))
    }
}
