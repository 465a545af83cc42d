import ProxyWasmABI

// Metrics: define, increment, record, get.

extension PluginVM {
    // MARK: metrics

    func proxyDefineMetric(_ type: UInt32, _ namePointer: UInt32, _ nameSize: UInt32, _ idSlot: UInt32) throws -> UInt32 {
        let name = "proxy_define_metric"
        guard let metricName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: metricName, as: UTF8.self)
        guard let id = proxy.stats.define(type, name: text) else {
            return finish(name, .badArgument, args: ["type": String(type), "name": text])
        }
        guard memory?.writeUInt32(idSlot, id) == true else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["type": MetricType(rawValue: type)!.name, "name": text], result: String(id))
    }

    func proxyIncrementMetric(_ id: UInt32, _ deltaBits: UInt64) throws -> UInt32 {
        let delta = Int64(bitPattern: deltaBits)
        let status = proxy.stats.increment(id, by: delta)
        return finish("proxy_increment_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "delta": String(delta)])
    }

    func proxyRecordMetric(_ id: UInt32, _ value: UInt64) throws -> UInt32 {
        let status = proxy.stats.record(id, value: value)
        return finish("proxy_record_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "value": String(value)])
    }

    func proxyGetMetric(_ id: UInt32, _ slot: UInt32) throws -> UInt32 {
        let (status, value) = proxy.stats.get(id)
        let args = { [self] in ["metric": proxy.stats.name(of: id) ?? String(id)] }
        guard status == .ok else { return finish("proxy_get_metric", status, args: args()) }
        guard memory?.writeUInt64(slot, value) == true else { return finish("proxy_get_metric", .invalidMemoryAccess) }
        return finish("proxy_get_metric", .ok, args: args(), result: String(value))
    }
}
