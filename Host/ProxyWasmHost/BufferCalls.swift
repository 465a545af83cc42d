import ProxyWasmABI

// Buffers: bodies, TCP data, call-out answers, the plugin and VM configuration.

extension PluginVM {
    // MARK: buffers (the rules are BufferRules; these apply them to the active context)

    func proxyGetBufferBytes(type bufferType: BufferType, start: UInt32, maxSize: UInt32, value output: BytesOutput) throws -> UInt32 {
        let name = "proxy_get_buffer_bytes"
        let args = { ["type": bufferType.name, "start": String(start), "max_size": String(maxSize)] }
        guard let buffer = buffer(bufferType) else { return finish(name, .notFound, args: args()) }
        let bytes = BufferRules.bytes(of: buffer, start: start, maxSize: maxSize)
        let status = try copyOut(bytes, to: output)
        return finish(name, status, args: args(), result: PluginVM.display(bytes))
    }

    func proxyGetBufferStatus(type bufferType: BufferType, length: WordOutput, flags: WordOutput) throws -> UInt32 {
        let name = "proxy_get_buffer_status"
        guard let buffer = buffer(bufferType) else { return finish(name, .notFound, args: ["type": bufferType.name]) }
        guard store(UInt32(buffer.count), in: length), store(0, in: flags) else {
            return finish(name, .invalidMemoryAccess, args: ["type": bufferType.name])
        }
        return finish(name, .ok, args: ["type": bufferType.name], result: String(buffer.count))
    }

    func proxySetBufferBytes(type bufferType: BufferType, start: UInt32, length: UInt32, data input: GuestBytes) throws -> UInt32 {
        let name = "proxy_set_buffer_bytes"
        guard let current = buffer(bufferType) else { return finish(name, .notFound, args: ["type": bufferType.name]) }
        guard let data = read(input) else { return finish(name, .invalidMemoryAccess) }
        let args = { ["type": bufferType.name, "start": String(start), "length": String(length), "data": PluginVM.display(data)] }
        guard let context = activeContext, context.mutableBuffers.contains(bufferType) else {
            return finish(name, .badArgument, args: args())
        }
        guard let updated = BufferRules.replacing(current, start: start, length: length, with: data) else {
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
            guard let context = activeContext, let plugin = registry.plugin(ofRoot: context.rootID) else { return [] }
            return plugin.vmConfiguration
        case .pluginConfiguration:
            guard let root = frame.configurationReadableRoot, let plugin = registry.plugin(ofRoot: root) else { return nil }
            return plugin.configuration
        case .httpRequestBody, .httpResponseBody, .downstreamData, .upstreamData:
            return activeContext?.buffers[type] ?? []
        case .grpcReceiveBuffer, .foreignFunctionArguments:
            return activeContext?.buffers[type] ?? []
        case .httpCallResponseBody:
            return activeContext?.buffers[type]
        }
    }
}
