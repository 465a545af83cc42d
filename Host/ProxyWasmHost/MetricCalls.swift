import ProxyWasmABI

// Metrics: define, increment, record, get.

extension PluginVM {
    // MARK: metrics

    func proxyDefineMetric(type: UInt32, name metricName: [UInt8], id output: WordOutput) throws -> UInt32 {
        let name = "proxy_define_metric"
        let text = String(decoding: metricName, as: UTF8.self)
        guard let id = proxy.stats.define(type, name: text) else {
            return finish(name, .badArgument, args: ["type": String(type), "name": text])
        }
        guard store(id, in: output) else { return finish(name, .invalidMemoryAccess) }
        return finish(name, .ok, args: ["type": MetricType(rawValue: type)!.name, "name": text], result: String(id))
    }

    func proxyIncrementMetric(id: UInt32, delta: Int64) throws -> UInt32 {
        let status = proxy.stats.increment(id, by: delta)
        return finish("proxy_increment_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "delta": String(delta)])
    }

    func proxyRecordMetric(id: UInt32, value: UInt64) throws -> UInt32 {
        let status = proxy.stats.record(id, value: value)
        return finish("proxy_record_metric", status, args: ["metric": proxy.stats.name(of: id) ?? String(id), "value": String(value)])
    }

    func proxyGetMetric(id: UInt32, value output: UInt64Output) throws -> UInt32 {
        let (status, value) = proxy.stats.get(id)
        let args = { [self] in ["metric": proxy.stats.name(of: id) ?? String(id)] }
        guard status == .ok else { return finish("proxy_get_metric", status, args: args()) }
        guard store(value, in: output) else { return finish("proxy_get_metric", .invalidMemoryAccess) }
        return finish("proxy_get_metric", .ok, args: args(), result: String(value))
    }
}
