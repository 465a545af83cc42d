import ProxyWasmABI

// Shared data (with CAS) and shared queues across VMs of one proxy.

extension PluginVM {
    // MARK: shared data and queues

    func proxyGetSharedData(key: [UInt8], value output: BytesOutput, cas casOutput: WordOutput) throws -> UInt32 {
        let name = "proxy_get_shared_data"
        let keyString = String(decoding: key, as: UTF8.self)
        guard let entry = proxy.sharedData.get(vmID: vmID, key: keyString) else {
            return finish(name, .notFound, args: ["key": keyString])
        }
        let status = try copyOut(entry.value, to: output)
        guard status == .ok else { return finish(name, status, args: ["key": keyString]) }
        guard store(entry.cas, in: casOutput) else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["key": keyString], result: PluginVM.display(entry.value) + " cas=\(entry.cas)")
    }

    func proxySetSharedData(key: [UInt8], value: [UInt8], cas: UInt32) throws -> UInt32 {
        let name = "proxy_set_shared_data"
        let keyString = String(decoding: key, as: UTF8.self)
        let status = proxy.sharedData.set(vmID: vmID, key: keyString, value: value, cas: cas)
        return finish(name, status, args: ["key": keyString, "value": PluginVM.display(value), "cas": String(cas)])
    }

    func proxyRegisterSharedQueue(name queueName: [UInt8], token output: WordOutput) throws -> UInt32 {
        let name = "proxy_register_shared_queue"
        let text = String(decoding: queueName, as: UTF8.self)
        let root = activeContext?.rootID ?? frame.currentContextID
        let token = proxy.sharedData.registerQueue(vmID: vmID, name: text, root: root, vm: self)
        guard store(token, in: output) else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["name": text], result: String(token))
    }

    func proxyResolveSharedQueue(vmID vm: [UInt8], name queueName: [UInt8], token output: WordOutput) throws -> UInt32 {
        let name = "proxy_resolve_shared_queue"
        let vmString = vm.isEmpty ? vmID : String(decoding: vm, as: UTF8.self)
        let text = String(decoding: queueName, as: UTF8.self)
        guard let token = proxy.sharedData.resolveQueue(vmID: vmString, name: text) else {
            return finish(name, .notFound, args: ["vm_id": vmString, "name": text])
        }
        guard store(token, in: output) else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["vm_id": vmString, "name": text], result: String(token))
    }

    func proxyEnqueueSharedQueue(token: UInt32, data: [UInt8]) throws -> UInt32 {
        let name = "proxy_enqueue_shared_queue"
        guard var queue = proxy.sharedData.queues[token] else { return finish(name, .notFound, args: ["token": String(token)]) }
        queue.items.append(data)
        proxy.sharedData.queues[token] = queue
        if let owner = queue.ownerVM {
            owner.deferred.notifyQueueReady(root: queue.ownerRoot, token: token)
        }
        return finish(name, .ok, args: ["token": String(token), "data": PluginVM.display(data)])
    }

    func proxyDequeueSharedQueue(token: UInt32, value output: BytesOutput) throws -> UInt32 {
        let name = "proxy_dequeue_shared_queue"
        guard var queue = proxy.sharedData.queues[token] else { return finish(name, .notFound, args: ["token": String(token)]) }
        guard !queue.items.isEmpty else { return finish(name, .empty, args: ["token": String(token)]) }
        let item = queue.items.removeFirst()
        proxy.sharedData.queues[token] = queue
        let status = try copyOut(item, to: output)
        return finish(name, status, args: ["token": String(token)], result: PluginVM.display(item))
    }
}
