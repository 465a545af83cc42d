import ProxyWasmABI
import ProxyWasmHost
import Testing

/// What the HTTP driver derives from the wire for the plugin to read.
@Suite("HTTP stream properties")
struct HttpStreamTests {
    func started() throws -> (PluginVM, ScriptedGuest, UInt32) {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder())
        let guest = ScriptedGuest()
        vm.guest = guest
        let root = try vm.startPlugin(PluginConfiguration(name: "p"))
        return (vm, guest, root)
    }

    /// Reads an integer property as the plugin would, inside its callback.
    func readInt(_ vm: PluginVM, _ guest: ScriptedGuest, _ path: [String]) throws -> Int64? {
        let encoded = memoryPath(path)
        let (pointer, size) = guest.plain.put(encoded, at: 0x100)
        guard try vm.call("proxy_get_property", pointer, size, 0x200, 0x204) == 0,
            let bytes = guest.plain.copied(0x200, 0x204)
        else { return nil }
        return try? PropertyValue.decodeInt64(bytes)
    }

    func memoryPath(_ path: [String]) -> [UInt8] { (try? PropertyPath.encode(path)) ?? [] }

    @Test func sizesAreEnvoysAtLogTime() throws {
        let (vm, guest, root) = try started()
        var seen: [String: Int64] = [:]
        guest.callbacks["proxy_on_log"] = { _ in
            for path in [["request", "size"], ["request", "total_size"], ["response", "size"], ["response", "total_size"]] {
                seen[path.joined(separator: ".")] = try self.readInt(vm, guest, path)
            }
            return nil
        }
        let stream = HttpStream(vm: vm, root: root)
        let request = [HeaderPair(":method", "POST"), HeaderPair(":path", "/p")]  // 7+4 + 5+2 = 18
        stream.sendRequestHeaders(request, endOfStream: false)
        stream.sendRequestBody(Array("12345".utf8), endOfStream: false)
        stream.sendRequestBody(Array("678".utf8))
        stream.sendResponseHeaders([HeaderPair(":status", "200")], endOfStream: false)  // 7+3 = 10
        stream.sendResponseBody(Array("abcd".utf8), endOfStream: false)
        stream.sendResponseTrailers([HeaderPair("grpc-status", "0")])  // 11+1 = 12
        stream.complete()
        #expect(seen == ["request.size": 8, "request.total_size": 26, "response.size": 4, "response.total_size": 26])
    }

    @Test func contentLengthIsTheRequestSizeAndExplicitValuesWin() throws {
        let (vm, guest, root) = try started()
        var seen: [String: Int64] = [:]
        guest.callbacks["proxy_on_log"] = { _ in
            seen["request.size"] = try self.readInt(vm, guest, ["request", "size"])
            seen["response.total_size"] = try self.readInt(vm, guest, ["response", "total_size"])
            return nil
        }
        let stream = HttpStream(vm: vm, root: root, properties: [PropertyEntry("response", .map([PropertyEntry("total_size", .int(999))]))])
        stream.sendRequestHeaders([HeaderPair(":path", "/"), HeaderPair("content-length", "42")])
        stream.sendResponseHeaders([HeaderPair(":status", "204")])
        stream.complete()
        #expect(seen == ["request.size": 42, "response.total_size": 999])
    }
}
