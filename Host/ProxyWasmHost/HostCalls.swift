import ProxyWasmABI

/// The arguments of one host call, as the engine delivers them.
public protocol HostCallArguments {
    func i32(_ index: Int) -> UInt32
    func i64(_ index: Int) -> UInt64
}

/// Arguments held in an array (tests, the native mode).
public struct ArrayArguments: HostCallArguments {
    public let values: [UInt64]
    public init(_ values: [UInt64]) { self.values = values }
    public func i32(_ index: Int) -> UInt32 { UInt32(truncatingIfNeeded: values[index]) }
    public func i64(_ index: Int) -> UInt64 { values[index] }
}

/// A host call the guest is not allowed to make now (Envoy V8: only
/// `proxy_log` and WASI during `_initialize`, a few during the allocator).
public struct RestrictedCallback: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "restricted_callback: \(name)" }
}

/// The implementation of a host function: returns its i32 result, or nil
/// for functions without results.
public typealias HostCallHandler = @Sendable (PluginVM, HostCallArguments) throws -> UInt32?

extension PluginVM {
    /// The handler for an import, or nil if the host does not provide it
    /// (the module then fails to load, as in Envoy).
    public static func handler(module: String, name: String) -> HostCallHandler? {
        if module == "env" { return envHandlers[name] }
        if wasiModuleNames.contains(module) { return WASI.handlers[name] }
        return nil
    }

    /// Runs a host call with Envoy's restrictions; every call is traced.
    public func dispatchHostCall(module: String, name: String, _ arguments: HostCallArguments) throws -> UInt32? {
        try dispatchHostCall(module: module, name: name, handler: PluginVM.handler(module: module, name: name), arguments)
    }

    /// `dispatchHostCall` with the handler resolved once, when the import was linked (an engine
    /// binding calls this on every host call, so the name is not looked up each time).
    public func dispatchHostCall(
        module: String, name: String, handler: HostCallHandler?,
        _ arguments: HostCallArguments
    ) throws -> UInt32? {
        switch restriction {
        case .none: break
        case .startup:
            if !(module == "env" && (name == "proxy_log" || name == "emscripten_notify_memory_growth"))
                && !wasiModuleNames.contains(module)
            {
                throw RestrictedCallback(name: name)
            }
        case .allocator:
            let allowed: Set<String> = ["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]
            if !allowed.contains(name) { throw RestrictedCallback(name: name) }
        }
        guard let handler else { throw RestrictedCallback(name: name) }
        if !allowedCapabilities.isEmpty, case .stub(let answer) = capabilityGate(module: module, name: name) {
            return answer
        }
        return try handler(self, arguments)
    }

    var memory: GuestMemory? { guest?.memory }

    /// Reads a guest slice; nil on bad memory.
    func slice(_ pointer: UInt32, _ size: UInt32) -> [UInt8]? {
        memory?.read(pointer, size)
    }

    /// Records a host call and returns its status as the raw result. The arguments and the result
    /// are described only when a trace or the NotFound tally needs them: a host call without
    /// tracing should cost no strings.
    func finish(
        _ name: String, _ status: WasmResult, args: @autoclosure () -> [String: String] = [:],
        result: @autoclosure () -> String? = nil
    ) -> UInt32 {
        let tallied = status == .notFound || status == .unimplemented
        guard trace.isEnabled || tallied else { return status.rawValue }
        let described = args()
        if trace.isEnabled {
            trace.record(
                .hostcall, context: activeContext?.id ?? currentContextID, name: name, args: described,
                result: result(), status: status.name)
        }
        if tallied { answers.record(status: status.name, call: Self.describe(name, described)) }
        return status.rawValue
    }

    /// A call and what it named, for `answers`: the argument that tells calls apart.
    static func describe(_ name: String, _ args: [String: String]) -> String {
        for key in ["path", "function", "key", "name", "type", "map"] {
            if let value = args[key] { return "\(name) \(value.count > 80 ? String(value.prefix(80)) + "..." : value)" }
        }
        return name
    }

    /// Records a call this host does not implement and answers Envoy's status.
    func unimplemented(_ name: String, _ status: WasmResult) -> UInt32 {
        unimplementedCalls.append(name)
        answers.record(status: "Unimplemented by this host", call: name)
        return finish(name, status, args: ["unimplemented": "true"])
    }

    /// Copies a value out through `copyToPointerSize`, allocating via the guest
    /// allocator under Envoy's allocator restriction.
    func copyOut(_ bytes: [UInt8], _ pointerSlot: UInt32, _ sizeSlot: UInt32) throws -> WasmResult {
        guard let memory else { return .invalidMemoryAccess }
        let saved = restriction
        restriction = .allocator
        defer { restriction = saved }
        return try memory.copyOut(bytes, pointerSlot: pointerSlot, sizeSlot: sizeSlot)
    }

    /// Guest or peer bytes for a trace: escaped, at most `TraceText.recordedBytes`.
    static func display(_ bytes: [UInt8]) -> String { TraceText.bytes(bytes) }

    /// A filter-state value as a trace shows it: one declared as FlatBuffers
    /// decoded by its schema (`flatbuffers Wasm.Common.FlatNode {NAME: ..., ...}`),
    /// anything else (or a buffer the schema cannot read) as bytes.
    static func displayFilterState(_ value: [UInt8], declaration: DeclaredProperty?) -> String {
        guard let declaration, declaration.type == .flatBuffers, let reflection = FlatBuffersReflection(schema: declaration.schema),
            let document = reflection.document(in: value)
        else { return display(value) }
        return "flatbuffers \(reflection.rootName) \(TraceText.value(document))"
    }

    static func displayPairs(_ pairs: [HeaderPair]) -> String {
        "{" + pairs.map { "\(TraceText.bytes($0.key)): \(TraceText.bytes($0.value))" }.joined(separator: ", ") + "}"
    }

    static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    /// Pairs as Envoy's header maps hold them: keys lower-cased.
    static func lowercasedKeys(_ pairs: [HeaderPair]) -> [HeaderPair] {
        pairs.map { HeaderPair(key: lowercased($0.key), value: $0.value) }
    }

    /// Serialized pairs from the guest as Envoy reads them (`toPairs`):
    /// keys lower-cased; malformed bytes read as an empty map.
    static func headerMap(_ bytes: [UInt8]) -> [HeaderPair] {
        lowercasedKeys((try? HeaderPairs.decode(bytes)) ?? [])
    }

    // MARK: - env handlers

    static let envHandlers: [String: HostCallHandler] = {
        var table: [String: HostCallHandler] = [:]
        table["proxy_log"] = { vm, a in try vm.proxyLog(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_get_log_level"] = { vm, a in vm.proxyGetLogLevel(a.i32(0)) }
        table["proxy_get_status"] = { vm, a in try vm.proxyGetStatus(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_tick_period_milliseconds"] = { vm, a in vm.proxySetTickPeriod(a.i32(0)) }
        table["proxy_get_current_time_nanoseconds"] = { vm, a in vm.proxyGetCurrentTime(a.i32(0)) }
        table["proxy_get_property"] = { vm, a in try vm.proxyGetProperty(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_set_property"] = { vm, a in vm.proxySetProperty(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_get_buffer_bytes"] = { vm, a in
            try vm.proxyGetBufferBytes(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_get_buffer_status"] = { vm, a in vm.proxyGetBufferStatus(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_buffer_bytes"] = { vm, a in
            vm.proxySetBufferBytes(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_get_header_map_value"] = { vm, a in
            try vm.proxyGetHeaderMapValue(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_add_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_add_header_map_value", a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_replace_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_replace_header_map_value", a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_remove_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_remove_header_map_value", a.i32(0), a.i32(1), a.i32(2), 0, 0)
        }
        table["proxy_get_header_map_pairs"] = { vm, a in try vm.proxyGetHeaderMapPairs(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_header_map_pairs"] = { vm, a in vm.proxySetHeaderMapPairs(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_get_header_map_size"] = { vm, a in vm.proxyGetHeaderMapSize(a.i32(0), a.i32(1)) }
        table["proxy_continue_stream"] = { vm, a in vm.proxyStreamAction("continue", a.i32(0)) }
        table["proxy_close_stream"] = { vm, a in vm.proxyStreamAction("close", a.i32(0)) }
        table["proxy_continue_request"] = { vm, _ in vm.proxyStreamAction("continue", 0, checkType: false) }
        table["proxy_continue_response"] = { vm, _ in vm.proxyStreamAction("continue", 1, checkType: false) }
        table["proxy_clear_route_cache"] = { vm, _ in vm.finish("proxy_clear_route_cache", .ok) }
        table["proxy_get_configuration"] = { vm, a in try vm.proxyGetConfiguration(a.i32(0), a.i32(1)) }
        table["proxy_send_local_response"] = { vm, a in
            vm.proxySendLocalResponse(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4), a.i32(5), a.i32(6), a.i32(7))
        }
        table["proxy_get_shared_data"] = { vm, a in
            try vm.proxyGetSharedData(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_set_shared_data"] = { vm, a in
            vm.proxySetSharedData(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_register_shared_queue"] = { vm, a in vm.proxyRegisterSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_resolve_shared_queue"] = { vm, a in
            vm.proxyResolveSharedQueue(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_enqueue_shared_queue"] = { vm, a in vm.proxyEnqueueSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_dequeue_shared_queue"] = { vm, a in try vm.proxyDequeueSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_define_metric"] = { vm, a in vm.proxyDefineMetric(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_increment_metric"] = { vm, a in vm.proxyIncrementMetric(a.i32(0), Int64(bitPattern: a.i64(1))) }
        table["proxy_record_metric"] = { vm, a in vm.proxyRecordMetric(a.i32(0), a.i64(1)) }
        table["proxy_get_metric"] = { vm, a in vm.proxyGetMetric(a.i32(0), a.i32(1)) }
        table["proxy_set_effective_context"] = { vm, a in vm.proxySetEffectiveContext(a.i32(0)) }
        table["proxy_done"] = { vm, _ in vm.proxyDone() }
        table["proxy_call_foreign_function"] = { vm, a in
            try vm.proxyCallForeignFunction(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4), a.i32(5))
        }
        table["proxy_http_call"] = { vm, a in vm.proxyHttpCall(a) }
        table["proxy_grpc_call"] = { vm, a in vm.proxyGrpcOpen(a, isStream: false) }
        table["proxy_grpc_stream"] = { vm, a in vm.proxyGrpcOpen(a, isStream: true) }
        table["proxy_grpc_send"] = { vm, a in vm.proxyGrpcSend(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_grpc_cancel"] = { vm, a in vm.proxyGrpcEnd(a.i32(0), cancel: true) }
        table["proxy_grpc_close"] = { vm, a in vm.proxyGrpcEnd(a.i32(0), cancel: false) }
        table["envoy_resolve_dns"] = { vm, _ in vm.unimplemented("envoy_resolve_dns", .internalFailure) }
        table["pthread_equal"] = { _, a in a.i32(0) == a.i32(1) ? 1 : 0 }
        table["emscripten_notify_memory_growth"] = { _, _ in nil }
        return table
    }()

    // MARK: logging, time

    func proxyLog(_ level: UInt32, _ pointer: UInt32, _ size: UInt32) throws -> UInt32 {
        guard let logLevel = LogLevel(rawValue: level) else {
            return finish("proxy_log", .badArgument, args: ["level": String(level)])
        }
        guard let message = slice(pointer, size) else { return finish("proxy_log", .invalidMemoryAccess) }
        let text = String(decoding: message, as: UTF8.self)
        if logLevel >= proxy.logLevel {
            let root = activeContext.flatMap { plugins[$0.rootID]?.rootID } ?? ""
            proxy.appendLog(LogLine(level: logLevel, vmID: vmID, rootID: root, message: text))
        }
        return finish("proxy_log", .ok, args: ["level": logLevel.name, "message": text])
    }

    func proxyGetLogLevel(_ slot: UInt32) -> UInt32 {
        guard memory?.writeUInt32(slot, proxy.logLevel.rawValue) == true else {
            return finish("proxy_get_log_level", .invalidMemoryAccess)
        }
        return finish("proxy_get_log_level", .ok, result: proxy.logLevel.name)
    }

    func proxyGetCurrentTime(_ slot: UInt32) -> UInt32 {
        guard memory?.writeUInt64(slot, proxy.clock.nanoseconds) == true else {
            return finish("proxy_get_current_time_nanoseconds", .invalidMemoryAccess)
        }
        return finish("proxy_get_current_time_nanoseconds", .ok, result: String(proxy.clock.nanoseconds))
    }

    func proxySetTickPeriod(_ milliseconds: UInt32) -> UInt32 {
        let root = activeContext?.rootID ?? currentContextID
        tickPeriods[root] = UInt64(milliseconds)
        nextTicks[root] = milliseconds == 0 ? nil : proxy.clock.nanoseconds + UInt64(milliseconds) * 1_000_000
        return finish("proxy_set_tick_period_milliseconds", .ok, args: ["milliseconds": String(milliseconds)])
    }

    // MARK: properties

    /// The value at a property path for the active context, as Envoy's
    /// `Context::getProperty` resolves it (also what CEL expressions read).
    func propertyValue(_ segments: [String]) -> PropertyNode? {
        let context = activeContext
        let isStream = context.map { $0.kind != .root } ?? false
        let resolver = PropertyResolver(dialect: proxy.dialect)
        var proxyTree = proxy.properties
        if let context, let plugin = plugins[context.rootID] {
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

    func proxyGetProperty(_ pathPointer: UInt32, _ pathSize: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let name = "proxy_get_property"
        guard let pathBytes = slice(pathPointer, pathSize) else { return finish(name, .invalidMemoryAccess) }
        let args = { ["path": PropertyPath.display(pathBytes)] }
        guard let segments = try? PropertyPath.decodeStrings(pathBytes) else {
            return finish(name, .notFound, args: args())
        }
        guard let value = propertyValue(segments) else {
            return finish(name, .notFound, args: args())
        }
        let bytes = value.serialized
        let status = try copyOut(bytes, valueSlot, sizeSlot)
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

    func proxySetProperty(_ pathPointer: UInt32, _ pathSize: UInt32, _ valuePointer: UInt32, _ valueSize: UInt32) -> UInt32 {
        let name = "proxy_set_property"
        guard let path = slice(pathPointer, pathSize), let value = slice(valuePointer, valueSize) else {
            return finish(name, .invalidMemoryAccess)
        }
        let key = "wasm." + String(decoding: path, as: UTF8.self)
        let declaration = declaredProperties[String(decoding: path, as: UTF8.self)]
        let args = {
            ["path": PropertyPath.display(path), "value": PluginVM.displayFilterState(value, declaration: declaration)]
        }
        guard let context = activeContext, context.kind != .root else { return finish(name, .notFound, args: args()) }
        context.filterState[key] = value
        if context.stream.declarations[key] == nil, let declaration {
            context.stream.declarations[key] = declaration
        }
        return finish(name, .ok, args: args())
    }

    // MARK: buffers

    func proxyGetBufferBytes(_ type: UInt32, _ start: UInt32, _ maxSize: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let name = "proxy_get_buffer_bytes"
        guard let bufferType = BufferType(rawValue: type) else { return finish(name, .badArgument, args: ["type": String(type)]) }
        let args = { ["type": bufferType.name, "start": String(start), "max_size": String(maxSize)] }
        guard let buffer = buffer(bufferType) else { return finish(name, .notFound, args: args()) }
        let begin = Int(start)
        var length = Int(maxSize)
        if begin > buffer.count { length = 0 } else if begin + length > buffer.count { length = buffer.count - begin }
        let bytes = length == 0 ? [] : Array(buffer[begin..<begin + length])
        let status = try copyOut(bytes, valueSlot, sizeSlot)
        return finish(name, status, args: args(), result: PluginVM.display(bytes))
    }

    func proxyGetBufferStatus(_ type: UInt32, _ lengthSlot: UInt32, _ flagsSlot: UInt32) -> UInt32 {
        let name = "proxy_get_buffer_status"
        guard let bufferType = BufferType(rawValue: type) else { return finish(name, .badArgument, args: ["type": String(type)]) }
        guard let buffer = buffer(bufferType) else { return finish(name, .notFound, args: ["type": bufferType.name]) }
        guard memory?.writeUInt32(lengthSlot, UInt32(buffer.count)) == true, memory?.writeUInt32(flagsSlot, 0) == true else {
            return finish(name, .invalidMemoryAccess, args: ["type": bufferType.name])
        }
        return finish(name, .ok, args: ["type": bufferType.name], result: String(buffer.count))
    }

    func proxySetBufferBytes(_ type: UInt32, _ start: UInt32, _ length: UInt32, _ dataPointer: UInt32, _ dataSize: UInt32) -> UInt32 {
        let name = "proxy_set_buffer_bytes"
        guard let bufferType = BufferType(rawValue: type) else { return finish(name, .badArgument, args: ["type": String(type)]) }
        guard let current = buffer(bufferType) else { return finish(name, .notFound, args: ["type": bufferType.name]) }
        guard let data = slice(dataPointer, dataSize) else { return finish(name, .invalidMemoryAccess) }
        let args = { ["type": bufferType.name, "start": String(start), "length": String(length), "data": PluginVM.display(data)] }
        guard let context = activeContext, context.mutableBuffers.contains(bufferType) else {
            return finish(name, .badArgument, args: args())
        }
        var updated = current
        if start == 0 {
            updated.removeFirst(min(Int(length), updated.count))
            updated.insert(contentsOf: data, at: 0)
        } else if Int(start) >= updated.count {
            updated.append(contentsOf: data)
        } else {
            return finish(name, .badArgument, args: args())
        }
        context.buffers[bufferType] = updated
        return finish(name, .ok, args: args())
    }

    /// What a buffer call sees: configuration buffers from the plugin, stream
    /// buffers from the active context (empty outside their callback).
    func buffer(_ type: BufferType) -> [UInt8]? {
        switch type {
        case .vmConfiguration:
            guard let context = activeContext, let plugin = plugins[context.rootID] else { return [] }
            return plugin.vmConfiguration
        case .pluginConfiguration:
            guard let root = pluginConfigurationReadable, let plugin = plugins[root] else { return nil }
            return plugin.configuration
        case .httpRequestBody, .httpResponseBody, .downstreamData, .upstreamData:
            return activeContext?.buffers[type] ?? []
        case .grpcReceiveBuffer, .foreignFunctionArguments:
            return activeContext?.buffers[type] ?? []
        case .httpCallResponseBody:
            return activeContext?.buffers[type]
        }
    }

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
        let lowered = PluginVM.lowercased(key)
        guard let pair = context.headerMaps[mapType, default: []].first(where: { $0.key == lowered }) else {
            return finish(name, .notFound, args: args())
        }
        let status = try copyOut(pair.value, valueSlot, sizeSlot)
        return finish(name, status, args: args(), result: pair.valueString)
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
        let lowered = PluginVM.lowercased(key)
        var pairs = context.headerMaps[mapType, default: []]
        switch name {
        case "proxy_add_header_map_value":
            pairs.append(HeaderPair(key: lowered, value: value))
        case "proxy_replace_header_map_value":
            if let index = pairs.firstIndex(where: { $0.key == lowered }) {
                pairs[index].value = value
                pairs = pairs.enumerated().filter { $0.offset == index || $0.element.key != lowered }.map(\.element)
            } else {
                pairs.append(HeaderPair(key: lowered, value: value))
            }
        default:
            pairs.removeAll { $0.key == lowered }
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

    func proxySetHeaderMapPairs(_ type: UInt32, _ pointer: UInt32, _ size: UInt32) -> UInt32 {
        let name = "proxy_set_header_map_pairs"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let bytes = slice(pointer, size) else { return finish(name, .invalidMemoryAccess) }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        // Envoy parses malformed pairs as an empty map: every header is removed.
        let pairs = PluginVM.headerMap(bytes)
        context.headerMaps[mapType] = pairs
        return finish(name, .ok, args: ["map": mapType.name, "pairs": PluginVM.displayPairs(pairs)])
    }

    func proxyGetHeaderMapSize(_ type: UInt32, _ slot: UInt32) -> UInt32 {
        let name = "proxy_get_header_map_size"
        guard let mapType = HeaderMapType(rawValue: type) else { return finish(name, .badArgument, args: ["map": String(type)]) }
        guard let context = activeContext, context.access(mapType) == .mutable else {
            return finish(name, .badArgument, args: ["map": mapType.name])
        }
        let size = context.headerMaps[mapType, default: []].reduce(0) { $0 + $1.key.count + $1.value.count }
        guard memory?.writeUInt32(slot, UInt32(size)) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["map": mapType.name], result: String(size))
    }

    // MARK: stream control

    func proxyStreamAction(_ action: String, _ type: UInt32, checkType: Bool = true) -> UInt32 {
        let name = action == "continue" ? "proxy_continue_stream" : "proxy_close_stream"
        guard let stream = StreamType(rawValue: type) else { return finish(name, .badArgument, args: ["stream": String(type)]) }
        guard let context = activeContext, context.kind != .root else { return finish(name, .ok, args: ["stream": stream.name]) }
        if action == "continue" && stream == .upstream { return finish(name, .unimplemented, args: ["stream": stream.name]) }
        context.streamActions.append((action, stream))
        return finish(name, .ok, args: ["stream": stream.name])
    }

    func proxyGetConfiguration(_ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let bytes = buffer(.pluginConfiguration) ?? buffer(.vmConfiguration) ?? []
        let status = try copyOut(bytes, valueSlot, sizeSlot)
        return finish("proxy_get_configuration", status, result: PluginVM.display(bytes))
    }

    func proxySendLocalResponse(
        _ code: UInt32, _ detailsPointer: UInt32, _ detailsSize: UInt32, _ bodyPointer: UInt32,
        _ bodySize: UInt32, _ headersPointer: UInt32, _ headersSize: UInt32, _ grpcStatus: UInt32
    ) -> UInt32 {
        let name = "proxy_send_local_response"
        guard let details = slice(detailsPointer, detailsSize), let body = slice(bodyPointer, bodySize),
            let headerBytes = slice(headersPointer, headersSize)
        else {
            return finish(name, .invalidMemoryAccess)
        }
        let headers = (try? HeaderPairs.decode(headerBytes)) ?? []
        // Envoy replaces whitespace in details with '_'.
        let cleanDetails = String(decoding: details.map { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A ? 0x5F : $0 }, as: UTF8.self)
        let args = {
            [
                "status": String(code), "details": cleanDetails, "body": PluginVM.display(body),
                "headers": PluginVM.displayPairs(headers), "grpc_status": grpcStatus <= 16 ? String(grpcStatus) : "none",
            ]
        }
        if let context = activeContext, context.kind == .http {
            context.localResponse = LocalResponse(
                statusCode: code, details: cleanDetails, body: body, headers: headers,
                grpcStatus: grpcStatus <= 16 ? grpcStatus : nil)
            stopNextIteration = true
        }
        return finish(name, .ok, args: args())
    }

    func proxySetEffectiveContext(_ id: UInt32) -> UInt32 {
        guard contexts[id] != nil else { return finish("proxy_set_effective_context", .badArgument, args: ["context": String(id)]) }
        effectiveContextID = id
        return finish("proxy_set_effective_context", .ok, args: ["context": String(id)])
    }

    func proxyDone() -> UInt32 {
        let root = activeContext?.rootID ?? currentContextID
        guard pendingDone.contains(root) else { return finish("proxy_done", .notFound) }
        pendingDone.remove(root)
        deferredDeletes.append(root)
        return finish("proxy_done", .ok)
    }

    // MARK: shared data and queues

    func proxyGetSharedData(_ keyPointer: UInt32, _ keySize: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32, _ casSlot: UInt32) throws -> UInt32 {
        let name = "proxy_get_shared_data"
        guard let key = slice(keyPointer, keySize) else { return finish(name, .invalidMemoryAccess) }
        let keyString = String(decoding: key, as: UTF8.self)
        guard let entry = proxy.sharedData.get(vmID: vmID, key: keyString) else {
            return finish(name, .notFound, args: ["key": keyString])
        }
        let status = try copyOut(entry.value, valueSlot, sizeSlot)
        guard status == .ok else { return finish(name, status, args: ["key": keyString]) }
        guard memory?.writeUInt32(casSlot, entry.cas) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["key": keyString], result: PluginVM.display(entry.value) + " cas=\(entry.cas)")
    }

    func proxySetSharedData(_ keyPointer: UInt32, _ keySize: UInt32, _ valuePointer: UInt32, _ valueSize: UInt32, _ cas: UInt32) -> UInt32 {
        let name = "proxy_set_shared_data"
        guard let key = slice(keyPointer, keySize), let value = slice(valuePointer, valueSize) else {
            return finish(name, .invalidMemoryAccess)
        }
        let keyString = String(decoding: key, as: UTF8.self)
        let status = proxy.sharedData.set(vmID: vmID, key: keyString, value: value, cas: cas)
        return finish(name, status, args: ["key": keyString, "value": PluginVM.display(value), "cas": String(cas)])
    }

    func proxyRegisterSharedQueue(_ namePointer: UInt32, _ nameSize: UInt32, _ tokenSlot: UInt32) -> UInt32 {
        let name = "proxy_register_shared_queue"
        guard let queueName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: queueName, as: UTF8.self)
        let root = activeContext?.rootID ?? currentContextID
        let token = proxy.sharedData.registerQueue(vmID: vmID, name: text, root: root, vm: self)
        guard memory?.writeUInt32(tokenSlot, token) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["name": text], result: String(token))
    }

    func proxyResolveSharedQueue(_ vmPointer: UInt32, _ vmSize: UInt32, _ namePointer: UInt32, _ nameSize: UInt32, _ tokenSlot: UInt32) -> UInt32 {
        let name = "proxy_resolve_shared_queue"
        guard let vm = slice(vmPointer, vmSize), let queueName = slice(namePointer, nameSize) else {
            return finish(name, .invalidMemoryAccess)
        }
        let vmString = vm.isEmpty ? vmID : String(decoding: vm, as: UTF8.self)
        let text = String(decoding: queueName, as: UTF8.self)
        guard let token = proxy.sharedData.resolveQueue(vmID: vmString, name: text) else {
            return finish(name, .notFound, args: ["vm_id": vmString, "name": text])
        }
        guard memory?.writeUInt32(tokenSlot, token) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["vm_id": vmString, "name": text], result: String(token))
    }

    func proxyEnqueueSharedQueue(_ token: UInt32, _ pointer: UInt32, _ size: UInt32) -> UInt32 {
        let name = "proxy_enqueue_shared_queue"
        guard let data = slice(pointer, size) else { return finish(name, .invalidMemoryAccess) }
        guard var queue = proxy.sharedData.queues[token] else { return finish(name, .notFound, args: ["token": String(token)]) }
        queue.items.append(data)
        proxy.sharedData.queues[token] = queue
        if let owner = queue.ownerVM {
            owner.deferredQueueNotifications.append((queue.ownerRoot, token))
        }
        return finish(name, .ok, args: ["token": String(token), "data": PluginVM.display(data)])
    }

    func proxyDequeueSharedQueue(_ token: UInt32, _ valueSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let name = "proxy_dequeue_shared_queue"
        guard var queue = proxy.sharedData.queues[token] else { return finish(name, .notFound, args: ["token": String(token)]) }
        guard !queue.items.isEmpty else { return finish(name, .empty, args: ["token": String(token)]) }
        let item = queue.items.removeFirst()
        proxy.sharedData.queues[token] = queue
        let status = try copyOut(item, valueSlot, sizeSlot)
        return finish(name, status, args: ["token": String(token)], result: PluginVM.display(item))
    }

    // MARK: metrics

    func proxyDefineMetric(_ type: UInt32, _ namePointer: UInt32, _ nameSize: UInt32, _ idSlot: UInt32) -> UInt32 {
        let name = "proxy_define_metric"
        guard let metricName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: metricName, as: UTF8.self)
        guard let id = proxy.stats.define(type, name: text) else {
            return finish(name, .badArgument, args: ["type": String(type), "name": text])
        }
        guard memory?.writeUInt32(idSlot, id) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["type": MetricType(rawValue: type)!.name, "name": text], result: String(id))
    }

    func proxyIncrementMetric(_ id: UInt32, _ delta: Int64) -> UInt32 {
        let status = proxy.stats.increment(id, by: delta)
        return finish("proxy_increment_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "delta": String(delta)])
    }

    func proxyRecordMetric(_ id: UInt32, _ value: UInt64) -> UInt32 {
        let status = proxy.stats.record(id, value: value)
        return finish("proxy_record_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "value": String(value)])
    }

    func proxyGetMetric(_ id: UInt32, _ slot: UInt32) -> UInt32 {
        let (status, value) = proxy.stats.get(id)
        let args = { [self] in ["metric": proxy.stats.name(of: id) ?? String(id)] }
        guard status == .ok else { return finish("proxy_get_metric", status, args: args()) }
        guard memory?.writeUInt64(slot, value) == true else { return finish("proxy_get_metric", .invalidMemoryAccess) }
        return finish("proxy_get_metric", .ok, args: args(), result: String(value))
    }

    // MARK: foreign functions

    func proxyCallForeignFunction(
        _ namePointer: UInt32, _ nameSize: UInt32, _ argumentsPointer: UInt32,
        _ argumentsSize: UInt32, _ resultSlot: UInt32, _ sizeSlot: UInt32
    ) throws -> UInt32 {
        let name = "proxy_call_foreign_function"
        guard let functionName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        guard let arguments = slice(argumentsPointer, argumentsSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: functionName, as: UTF8.self)
        guard let function = foreignFunctions[text] else { return finish(name, .notFound, args: ["function": text]) }
        let (status, result) = function(self, arguments)
        if resultSlot != 0 && !result.isEmpty {
            let copied = try copyOut(result, resultSlot, sizeSlot == 0 ? resultSlot : sizeSlot)
            if copied != .ok { return finish(name, copied, args: ["function": text]) }
        } else {
            if resultSlot != 0 && memory?.writeUInt32(resultSlot, 0) != true { return finish(name, .invalidMemoryAccess) }
            if sizeSlot != 0 && memory?.writeUInt32(sizeSlot, UInt32(resultSlot == 0 ? 0 : result.count)) != true {
                return finish(name, .invalidMemoryAccess)
            }
        }
        return finish(name, status, args: ["function": text, "arguments": PluginVM.display(arguments)])
    }
}

/// A host-provided foreign function: (vm, arguments) -> (status, result bytes).
public typealias ForeignFunction = (PluginVM, [UInt8]) -> (WasmResult, [UInt8])
