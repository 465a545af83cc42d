import ProxyWasm

/// A small in-memory `NativeProxyHost` for unit tests of the SDK and of
/// plugin logic run natively. It follows Envoy's status rules for the calls it
/// implements and records what the plugin did; everything else answers
/// `Unimplemented` through the protocol's defaults.
final class RecordingHost: NativeProxyHost {
    var logLevel: LogLevel = .trace
    var logs: [(level: LogLevel, message: String)] = []
    var properties: [[UInt8]: [UInt8]] = [:]
    var headerMaps: [UInt32: [HeaderPair]] = [:]
    var buffers: [UInt32: [UInt8]] = [:]
    var metricNames: [UInt32: String] = [:]
    var metricValues: [UInt32: UInt64] = [:]
    var nextMetricID: UInt32 = 1
    var localResponse: (status: UInt32, details: String, body: String, headers: [HeaderPair])?
    var calls: [String] = []

    func setProperty(_ path: [String], _ value: [UInt8]) {
        properties[try! PropertyPath.encode(path)] = value
    }

    func headers(_ map: HeaderMapType) -> [HeaderPair] { headerMaps[map.rawValue] ?? [] }

    func metric(_ name: String) -> UInt64? {
        guard let id = metricNames.first(where: { $0.value == name })?.key else { return nil }
        return metricValues[id]
    }

    // MARK: NativeProxyHost

    func log(level: UInt32, message: UnsafeBufferPointer<UInt8>) -> UInt32 {
        calls.append("proxy_log")
        guard let level = LogLevel(rawValue: level) else { return WasmResult.badArgument.rawValue }
        logs.append((level, String(decoding: message, as: UTF8.self)))
        return 0
    }

    func getLogLevel(level: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        calls.append("proxy_get_log_level")
        level?.pointee = logLevel.rawValue
        return 0
    }

    func getProperty(
        path: UnsafeBufferPointer<UInt8>,
        value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 {
        calls.append("proxy_get_property")
        guard let stored = properties[Array(path)] else { return WasmResult.notFound.rawValue }
        NativeHostBridge.handOver(stored, value, valueSize)
        return 0
    }

    func setProperty(path: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> UInt32 {
        calls.append("proxy_set_property")
        properties[Array(path)] = Array(value)
        return 0
    }

    func getBufferBytes(
        type: UInt32, start: Int, maxSize: Int,
        value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 {
        calls.append("proxy_get_buffer_bytes")
        if type > BufferType.foreignFunctionArguments.rawValue { return WasmResult.badArgument.rawValue }
        guard let buffer = buffers[type] else { return WasmResult.notFound.rawValue }
        let begin = min(start, buffer.count)
        let end = min(buffer.count, begin + maxSize)
        NativeHostBridge.handOver(Array(buffer[begin..<end]), value, valueSize)
        return 0
    }

    func getBufferStatus(
        type: UInt32, length: UnsafeMutablePointer<Int>?,
        flags: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
        guard let buffer = buffers[type] else { return WasmResult.notFound.rawValue }
        length?.pointee = buffer.count
        flags?.pointee = 0
        return 0
    }

    func setBufferBytes(type: UInt32, start: Int, length: Int, data: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard var buffer = buffers[type] else { return WasmResult.notFound.rawValue }
        if start == 0 {
            buffer.removeFirst(min(length, buffer.count))
            buffer.insert(contentsOf: data, at: 0)
        } else if start >= buffer.count {
            buffer.append(contentsOf: data)
        } else {
            return WasmResult.badArgument.rawValue
        }
        buffers[type] = buffer
        return 0
    }

    private func mapKey(_ key: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        key.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    func getHeaderMapValue(
        map: UInt32, key: UnsafeBufferPointer<UInt8>,
        value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 {
        calls.append("proxy_get_header_map_value")
        guard map <= 7 else { return WasmResult.badArgument.rawValue }
        let wanted = mapKey(key)
        guard let pair = headerMaps[map, default: []].first(where: { $0.key == wanted }) else {
            return WasmResult.notFound.rawValue
        }
        NativeHostBridge.handOver(pair.value, value, valueSize)
        return 0
    }

    func addHeaderMapValue(map: UInt32, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> UInt32 {
        calls.append("proxy_add_header_map_value")
        guard map <= 3 else { return WasmResult.badArgument.rawValue }
        headerMaps[map, default: []].append(HeaderPair(key: mapKey(key), value: Array(value)))
        return 0
    }

    func replaceHeaderMapValue(map: UInt32, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> UInt32 {
        calls.append("proxy_replace_header_map_value")
        guard map <= 3 else { return WasmResult.badArgument.rawValue }
        let lowered = mapKey(key)
        headerMaps[map, default: []].removeAll { $0.key == lowered }
        headerMaps[map, default: []].append(HeaderPair(key: lowered, value: Array(value)))
        return 0
    }

    func removeHeaderMapValue(map: UInt32, key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        calls.append("proxy_remove_header_map_value")
        guard map <= 3 else { return WasmResult.badArgument.rawValue }
        let lowered = mapKey(key)
        headerMaps[map, default: []].removeAll { $0.key == lowered }
        return 0
    }

    func getHeaderMapPairs(
        map: UInt32,
        pairs value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        pairsSize valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 {
        guard map <= 7 else { return WasmResult.badArgument.rawValue }
        let pairs = headerMaps[map, default: []]
        NativeHostBridge.handOver(pairs.isEmpty ? [] : HeaderPairs.encode(pairs), value, valueSize)
        return 0
    }

    func setHeaderMapPairs(map: UInt32, pairs: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard map <= 3 else { return WasmResult.badArgument.rawValue }
        headerMaps[map] = (try? HeaderPairs.decode(Array(pairs))) ?? []
        return 0
    }

    func getHeaderMapSize(map: UInt32, size: UnsafeMutablePointer<Int>?) -> UInt32 {
        guard map <= 3 else { return WasmResult.badArgument.rawValue }
        size?.pointee = headerMaps[map, default: []].reduce(0) { $0 + $1.key.count + $1.value.count }
        return 0
    }

    func sendLocalResponse(
        statusCode: UInt32, details: UnsafeBufferPointer<UInt8>,
        body: UnsafeBufferPointer<UInt8>, headers: UnsafeBufferPointer<UInt8>,
        grpcStatus: UInt32
    ) -> UInt32 {
        calls.append("proxy_send_local_response")
        localResponse = (
            statusCode, String(decoding: details, as: UTF8.self), String(decoding: body, as: UTF8.self),
            (try? HeaderPairs.decode(Array(headers))) ?? []
        )
        return 0
    }

    func defineMetric(type: UInt32, name: UnsafeBufferPointer<UInt8>, id: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        calls.append("proxy_define_metric")
        guard type <= 2 else { return WasmResult.badArgument.rawValue }
        // Envoy: a new id on every call, low two bits = type.
        let metricID = nextMetricID << 2 | type
        nextMetricID += 1
        metricNames[metricID] = String(decoding: name, as: UTF8.self)
        metricValues[metricID] = 0
        id?.pointee = metricID
        return 0
    }

    func incrementMetric(id: UInt32, delta: Int64) -> UInt32 {
        calls.append("proxy_increment_metric")
        guard let value = metricValues[id] else { return WasmResult.notFound.rawValue }
        if id & 3 == 0 && delta <= 0 { return WasmResult.badArgument.rawValue }
        metricValues[id] = UInt64(Int64(value) + delta)
        return 0
    }

    func recordMetric(id: UInt32, value: UInt64) -> UInt32 {
        guard metricValues[id] != nil else { return WasmResult.notFound.rawValue }
        metricValues[id] = value
        return 0
    }

    func getMetric(id: UInt32, value: UnsafeMutablePointer<UInt64>?) -> UInt32 {
        guard let stored = metricValues[id] else { return WasmResult.notFound.rawValue }
        value?.pointee = stored
        return 0
    }
}
