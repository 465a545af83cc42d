import ProxyWasmABI
import Testing

@testable import ProxyWasmHost

/// Host-function semantics in isolation: Envoy's order of checks and status codes.
@Suite("Host calls")
struct HostCallTests {
    @Test func getHeaderValueCopiesThroughTheGuestAllocator() throws {
        let (vm, memory, stream) = hostCallFixture()
        stream.headerMaps[.httpRequestHeaders] = [HeaderPair("host", "example.com")]
        stream.mapAccess[.httpRequestHeaders] = .mutable
        memory.place(Array("Host".utf8), at: 0x1000)
        let status = try vm.call("proxy_get_header_map_value", 0, 0x1000, 4, 0x2000, 0x2004)
        #expect(status == WasmResult.ok.rawValue)
        let pointer = memory.readUInt32(0x2000)!
        #expect(memory.readUInt32(0x2004) == 11)
        #expect(memory.read(pointer, 11) == Array("example.com".utf8))
    }

    @Test func emptyValuesAreReturnedWithoutAllocating() throws {
        let (vm, memory, stream) = hostCallFixture()
        stream.headerMaps[.httpRequestHeaders] = [HeaderPair("x-empty", "")]
        stream.mapAccess[.httpRequestHeaders] = .mutable
        memory.place(Array("x-empty".utf8), at: 0x1000)
        memory.place([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], at: 0x2000)
        #expect(try vm.call("proxy_get_header_map_value", 0, 0x1000, 7, 0x2000, 0x2004) == 0)
        #expect(memory.readUInt32(0x2000) == 0 && memory.readUInt32(0x2004) == 0)
        #expect(memory.allocations.isEmpty)
    }

    @Test func checksRunInEnvoysOrder() throws {
        let (vm, _, stream) = hostCallFixture()
        stream.mapAccess[.httpRequestHeaders] = .mutable
        // enumerations are checked before memory (map type, log level, buffer type): BadArgument
        // even with a bad pointer.
        #expect(try vm.call("proxy_get_header_map_value", 8, 0xFFFF_FFF0, 100, 0, 0) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_get_header_map_value", 0, 0xFFFF_FFF0, 100, 0, 0) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try vm.call("proxy_get_header_map_value", 2, 0, 1, 0, 0) == WasmResult.badArgument.rawValue)  // not open
        #expect(try vm.call("proxy_log", 6, 0, 0) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_log", 2, 65530, 100) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try vm.call("proxy_log", 6, 65530, 100) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_set_buffer_bytes", 9, 0, 0, 0xFFFF_FFF0, 100) == WasmResult.badArgument.rawValue)
        // the buffer is looked up before its new bytes are read: no call-out answer, NotFound.
        #expect(try vm.call("proxy_set_buffer_bytes", 4, 0, 0, 0xFFFF_FFF0, 100) == WasmResult.notFound.rawValue)
        #expect(try vm.call("proxy_set_buffer_bytes", 0, 0, 0, 0xFFFF_FFF0, 100) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try vm.call("proxy_close_stream", 4) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_get_buffer_bytes", 9, 0, 10, 0, 4) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_define_metric", 3, 0, 1, 0) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_continue_stream", 4) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_continue_stream", 3) == WasmResult.unimplemented.rawValue)
    }

    @Test func headerMutationsFollowEnvoy() throws {
        let (vm, memory, stream) = hostCallFixture()
        stream.mapAccess[.httpRequestHeaders] = .mutable
        memory.place(Array("X-A".utf8), at: 0x100)
        memory.place(Array("1".utf8), at: 0x200)
        memory.place(Array("2".utf8), at: 0x300)
        #expect(try vm.call("proxy_add_header_map_value", 0, 0x100, 3, 0x200, 1) == 0)
        #expect(try vm.call("proxy_add_header_map_value", 0, 0x100, 3, 0x300, 1) == 0)
        #expect(stream.headerMaps[.httpRequestHeaders] == [HeaderPair("x-a", "1"), HeaderPair("x-a", "2")])
        #expect(try vm.call("proxy_replace_header_map_value", 0, 0x100, 3, 0x300, 1) == 0)
        #expect(stream.headerMaps[.httpRequestHeaders] == [HeaderPair("x-a", "2")])
        #expect(try vm.call("proxy_get_header_map_size", 0, 0x400) == 0)
        #expect(memory.readUInt32(0x400) == 4)
        #expect(try vm.call("proxy_remove_header_map_value", 0, 0x100, 3) == 0)
        #expect(stream.headerMaps[.httpRequestHeaders] == [])
        // Malformed pairs: Envoy empties the map and still answers Ok.
        stream.headerMaps[.httpRequestHeaders] = [HeaderPair("keep", "me")]
        memory.place([1, 0, 0, 0, 9, 0, 0, 0], at: 0x500)
        #expect(try vm.call("proxy_set_header_map_pairs", 0, 0x500, 8) == 0)
        #expect(stream.headerMaps[.httpRequestHeaders] == [])
        // Read-only in the access-log phase.
        stream.mapAccess[.httpRequestHeaders] = .readOnly
        #expect(try vm.call("proxy_add_header_map_value", 0, 0x100, 3, 0x200, 1) == WasmResult.badArgument.rawValue)
    }

    @Test func pairsOfAnUnavailableMapAreEmptyNotAnError() throws {
        let (vm, memory, _) = hostCallFixture()
        #expect(try vm.call("proxy_get_header_map_pairs", 2, 0x100, 0x104) == 0)
        #expect(memory.readUInt32(0x100) == 0 && memory.readUInt32(0x104) == 0)
    }

    @Test func propertiesUseEnvoysEncodingsAndDialects() throws {
        for dialect in PropertyDialect.allCases {
            let (vm, memory, stream) = hostCallFixture(dialect: dialect)
            vm.proxy.setNode(id: "sidecar~1", metadata: [PropertyEntry("NAME", .string("reviews-v1"))])
            vm.proxy.setXDS("listener_direction", .int(TrafficDirection.inbound.rawValue))
            stream.streamProperties = .map([PropertyEntry("response", .map([PropertyEntry("code", .int(200))]))])
            func get(_ path: String) throws -> (UInt32?, [UInt8]?) {
                let bytes = Array(path.utf8).map { $0 == 0x2E ? 0 : $0 }
                memory.place(bytes, at: 0x100)
                let status = try vm.call("proxy_get_property", 0x100, UInt64(bytes.count), 0x200, 0x204)
                guard status == 0 else { return (status, nil) }
                return (status, memory.read(memory.readUInt32(0x200)!, memory.readUInt32(0x204)!))
            }
            let prefix = dialect == .current ? "xds." : ""
            let other = dialect == .current ? "" : "xds."
            #expect(try get(prefix + "node.metadata.NAME").1 == Array("reviews-v1".utf8))
            #expect(try get(prefix + "listener_direction").1 == [1, 0, 0, 0, 0, 0, 0, 0])
            #expect(try get(other + "node.metadata.NAME").0 == WasmResult.notFound.rawValue)
            #expect(try get("response.code").1 == [200, 0, 0, 0, 0, 0, 0, 0])
            #expect(try get(prefix + "node.metadata").1 == HeaderPairs.encode([("NAME", "reviews-v1")]))
            #expect(try get("plugin_name").1 == Array("plugin".utf8))
        }
    }

    @Test func streamPropertiesAreNotFoundInTheRootContext() throws {
        let (vm, memory, stream) = hostCallFixture()
        stream.streamProperties = .map([PropertyEntry("request", .map([PropertyEntry("path", .string("/"))]))])
        vm.frame.currentContextID = 1
        memory.place(Array("request\0path".utf8), at: 0x100)
        #expect(try vm.call("proxy_get_property", 0x100, 12, 0x200, 0x204) == WasmResult.notFound.rawValue)
    }

    @Test func filterStateIsWrittenUnderWasmKeysAndReadBack() throws {
        let (vm, memory, stream) = hostCallFixture()
        memory.place(Array("upstream_peer_id".utf8), at: 0x100)
        memory.place(Array("reviews".utf8), at: 0x200)
        #expect(try vm.call("proxy_set_property", 0x100, 16, 0x200, 7) == 0)
        #expect(stream.filterState["wasm.upstream_peer_id"] == Array("reviews".utf8))
        #expect(try vm.call("proxy_get_property", 0x100, 16, 0x300, 0x304) == 0)
        #expect(memory.read(memory.readUInt32(0x300)!, 7) == Array("reviews".utf8))
        vm.frame.currentContextID = 1  // no stream: NotFound
        #expect(try vm.call("proxy_set_property", 0x100, 16, 0x200, 7) == WasmResult.notFound.rawValue)
    }

    @Test func metricsFollowEnvoysIdsAndRules() throws {
        let (vm, memory, _) = hostCallFixture()
        memory.place(Array("requests".utf8), at: 0x100)
        #expect(try vm.call("proxy_define_metric", 0, 0x100, 8, 0x200) == 0)
        let first = memory.readUInt32(0x200)!
        #expect(try vm.call("proxy_define_metric", 0, 0x100, 8, 0x200) == 0)
        let second = memory.readUInt32(0x200)!
        #expect(first == 4 && second == 8)  // a new id per define, same stat
        #expect(try vm.call("proxy_increment_metric", UInt64(first), 2) == 0)
        #expect(try vm.call("proxy_increment_metric", UInt64(second), 0) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_increment_metric", UInt64(second), UInt64(bitPattern: -1)) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_record_metric", UInt64(second), 5) == 0)  // counters add
        #expect(vm.proxy.stats.stat(named: "requests")?.value == 7)
        #expect(try vm.call("proxy_get_metric", 40, 0x300) == WasmResult.notFound.rawValue)
        memory.place(Array("latency".utf8), at: 0x100)
        #expect(try vm.call("proxy_define_metric", 2, 0x100, 7, 0x200) == 0)
        let histogram = memory.readUInt32(0x200)!
        #expect(histogram & 3 == 2)
        #expect(try vm.call("proxy_get_metric", UInt64(histogram), 0x300) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_increment_metric", UInt64(histogram), 1) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_record_metric", UInt64(histogram), 12) == 0)
        #expect(vm.proxy.stats.stat(named: "latency")?.samples == [12])
    }

    @Test func sharedDataHonoursCompareAndSwap() throws {
        let (vm, memory, _) = hostCallFixture()
        memory.place(Array("k".utf8), at: 0x100)
        memory.place(Array("v1".utf8), at: 0x110)
        #expect(try vm.call("proxy_get_shared_data", 0x100, 1, 0x200, 0x204, 0x208) == WasmResult.notFound.rawValue)
        #expect(try vm.call("proxy_set_shared_data", 0x100, 1, 0x110, 2, 77) == 0)  // new key: cas ignored
        #expect(try vm.call("proxy_get_shared_data", 0x100, 1, 0x200, 0x204, 0x208) == 0)
        let cas = memory.readUInt32(0x208)!
        #expect(try vm.call("proxy_set_shared_data", 0x100, 1, 0x110, 2, UInt64(cas + 1)) == WasmResult.casMismatch.rawValue)
        #expect(try vm.call("proxy_set_shared_data", 0x100, 1, 0x110, 2, UInt64(cas)) == 0)
    }

    @Test func buffersHonourSetBytesRules() throws {
        let (vm, memory, stream) = hostCallFixture()
        stream.buffers[.downstreamData] = Array("world".utf8)
        stream.mutableBuffers.insert(.downstreamData)
        memory.place(Array("hello ".utf8), at: 0x100)
        #expect(try vm.call("proxy_set_buffer_bytes", 2, 0, 0, 0x100, 6) == 0)
        #expect(stream.buffers[.downstreamData] == Array("hello world".utf8))
        #expect(try vm.call("proxy_set_buffer_bytes", 2, 3, 1, 0x100, 6) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_get_buffer_bytes", 2, 6, 100, 0x200, 0x204) == 0)
        #expect(memory.readUInt32(0x204) == 5)
        #expect(try vm.call("proxy_get_buffer_bytes", 4, 0, 10, 0x200, 0x204) == WasmResult.notFound.rawValue)
        #expect(try vm.call("proxy_get_buffer_bytes", 7, 0, 10, 0x200, 0x204) == WasmResult.notFound.rawValue)
    }

    @Test func everyCallIsTracedWithDecodedArguments() throws {
        let (vm, memory, _) = hostCallFixture()
        memory.place(Array("hello".utf8), at: 0x100)
        _ = try vm.call("proxy_log", 2, 0x100, 5)
        let event = try #require(vm.trace.events.last)
        #expect(event.name == "proxy_log" && event.kind == .hostcall)
        #expect(event.args == ["level": "info", "message": "hello"])
        #expect(event.status == "Ok")
        #expect(vm.proxy.logs.last?.message == "hello")
    }

    @Test func callsEnvoyDoesNotServeAreRecorded() throws {
        let (vm, _, _) = hostCallFixture()
        #expect(try vm.call("envoy_resolve_dns", 0, 0, 0) == WasmResult.internalFailure.rawValue)
        #expect(vm.unimplementedCalls == ["envoy_resolve_dns"])
        #expect(vm.trace.events.last?.args["unimplemented"] == "true")
    }
}
