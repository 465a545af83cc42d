import ProxyWasmABI

// Header and trailer maps: get, add, replace, remove, pairs, size, as Envoy answers them.

extension PluginVM {
    // The rules themselves are HeaderMapRules; these move bytes between them and the guest.

    // MARK: header maps

    func proxyGetHeaderMapValue(_ type: UInt32, _ keyPointer: UInt32, _ keySize: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let name = "proxy_get_header_map_value"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let key = slice(keyPointer, keySize) else { return finish(name, .invalidMemoryAccess) }
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
        let status = try copyOut(value, valueSlot, sizeSlot)
        return finish(name, status, args: args(), result: String(decoding: value, as: UTF8.self))
    }

    func proxyAddHeaderMapValue(_ type: UInt32, _ key: UInt32, _ keySize: UInt32, _ value: UInt32, _ valueSize: UInt32) throws -> UInt32 {
        proxyMutateHeaderMap("proxy_add_header_map_value", type, key, keySize, value, valueSize)
    }

    func proxyReplaceHeaderMapValue(_ type: UInt32, _ key: UInt32, _ keySize: UInt32, _ value: UInt32, _ valueSize: UInt32) throws -> UInt32 {
        proxyMutateHeaderMap("proxy_replace_header_map_value", type, key, keySize, value, valueSize)
    }

    func proxyRemoveHeaderMapValue(_ type: UInt32, _ key: UInt32, _ keySize: UInt32) throws -> UInt32 {
        proxyMutateHeaderMap("proxy_remove_header_map_value", type, key, keySize, 0, 0)
    }

    func proxyMutateHeaderMap(
        _ name: String, _ type: UInt32, _ keyPointer: UInt32, _ keySize: UInt32,
        _ valuePointer: UInt32, _ valueSize: UInt32
    ) -> UInt32 {
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let key = slice(keyPointer, keySize), let value = slice(valuePointer, valueSize) else {
            return finish(name, .invalidMemoryAccess)
        }
        let args = {
            name == "proxy_remove_header_map_value"
                ? ["map": mapType.name, "key": PluginVM.display(key)]
                : ["map": mapType.name, "key": PluginVM.display(key), "value": PluginVM.display(value)]
        }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: args())
        }
        var pairs = context.headerMaps[mapType, default: []]
        switch name {
        case "proxy_add_header_map_value": HeaderMapRules.add(key, value, to: &pairs)
        case "proxy_replace_header_map_value": HeaderMapRules.replace(key, value, in: &pairs)
        default: HeaderMapRules.remove(key, from: &pairs)
        }
        context.headerMaps[mapType] = pairs
        return finish(name, .ok, args: args())
    }

    func proxyGetHeaderMapPairs(_ type: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let name = "proxy_get_header_map_pairs"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        var pairs: [HeaderPair] = []
        if let context = activeContext, context.access(mapType) == .readOnly || context.access(mapType) == .mutable {
            pairs = context.headerMaps[mapType, default: []]
        }
        let status = try copyOut(pairs.isEmpty ? [] : HeaderPairs.encode(pairs), valueSlot, sizeSlot)
        return finish(name, status, args: ["map": mapType.name], result: PluginVM.displayPairs(pairs))
    }

    func proxySetHeaderMapPairs(_ type: UInt32, _ pointer: UInt32, _ size: UInt32) throws -> UInt32 {
        let name = "proxy_set_header_map_pairs"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let bytes = slice(pointer, size) else { return finish(name, .invalidMemoryAccess) }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        // Envoy parses malformed pairs as an empty map: every header is removed.
        let pairs = HeaderMapRules.decode(bytes)
        context.headerMaps[mapType] = pairs
        return finish(name, .ok, args: ["map": mapType.name, "pairs": PluginVM.displayPairs(pairs)])
    }

    func proxyGetHeaderMapSize(_ type: UInt32, _ slot: UInt32) throws -> UInt32 {
        let name = "proxy_get_header_map_size"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        let size = HeaderMapRules.byteSize(context.headerMaps[mapType, default: []])
        guard memory?.writeUInt32(slot, UInt32(size)) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["map": mapType.name], result: String(size))
    }
}
