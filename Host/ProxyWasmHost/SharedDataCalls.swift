import ProxyWasmABI

// Shared data (with CAS) and shared queues across VMs of one proxy.

extension PluginVM {
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

    func proxySetSharedData(_ keyPointer: UInt32, _ keySize: UInt32, _ valuePointer: UInt32, _ valueSize: UInt32, _ cas: UInt32) throws -> UInt32 {
        let name = "proxy_set_shared_data"
        guard let key = slice(keyPointer, keySize), let value = slice(valuePointer, valueSize) else {
            return finish(name, .invalidMemoryAccess)
        }
        let keyString = String(decoding: key, as: UTF8.self)
        let status = proxy.sharedData.set(vmID: vmID, key: keyString, value: value, cas: cas)
        return finish(name, status, args: ["key": keyString, "value": PluginVM.display(value), "cas": String(cas)])
    }

    func proxyRegisterSharedQueue(_ namePointer: UInt32, _ nameSize: UInt32, _ tokenSlot: UInt32) throws -> UInt32 {
        let name = "proxy_register_shared_queue"
        guard let queueName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: queueName, as: UTF8.self)
        let root = activeContext?.rootID ?? frame.currentContextID
        let token = proxy.sharedData.registerQueue(vmID: vmID, name: text, root: root, vm: self)
        guard memory?.writeUInt32(tokenSlot, token) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["name": text], result: String(token))
    }

    func proxyResolveSharedQueue(_ vmPointer: UInt32, _ vmSize: UInt32, _ namePointer: UInt32, _ nameSize: UInt32, _ tokenSlot: UInt32) throws
        -> UInt32
    {
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

    func proxyEnqueueSharedQueue(_ token: UInt32, _ pointer: UInt32, _ size: UInt32) throws -> UInt32 {
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
}
