import Testing

@testable import ProxyWasm

/// The safe wrappers against an in-memory host: statuses become nil/errors,
/// Envoy's byte encodings become typed values, host buffers are taken over.
extension NativeHostSuites {
    @Suite("SDK wrappers", .serialized)
    struct SDKWrapperTests {
        let host = RecordingHost()

        init() { NativeHostBridge.install(host) }

        @Test func typedPropertiesDecodeEnvoysEncodings() throws {
            host.setProperty(["request", "protocol"], Array("HTTP/1.1".utf8))
            host.setProperty(["response", "code"], PropertyValue.encode(int64: 200))
            host.setProperty(["connection", "mtls"], [1])
            host.setProperty(["xds", "node", "metadata", "LABELS"], HeaderPairs.encode([("app", "reviews"), ("version", "v1")]))
            #expect(try Properties.string(["request", "protocol"]) == "HTTP/1.1")
            #expect(try Properties.int64(["response", "code"]) == 200)
            #expect(try Properties.bool(["connection", "mtls"]) == true)
            #expect(try Properties.map(["xds", "node", "metadata", "LABELS"]) == [HeaderPair("app", "reviews"), HeaderPair("version", "v1")])
        }

        @Test func absentPropertiesAreNilNotErrors() throws {
            #expect(try Properties.string(["xds", "cluster_name"]) == nil)
            #expect(try Properties.int64(["response", "code"]) == nil)
        }

        @Test func wronglySizedValuesAreReportedNotTrapped() {
            host.setProperty(["response", "code"], [0xC8])
            #expect(throws: PropertyError.malformed(.wrongSize(expected: 8, actual: 1))) {
                try Properties.int64(["response", "code"])
            }
            host.setProperty(["bad", "map"], [1, 0, 0, 0])
            #expect(throws: PropertyError.malformedMap(.truncatedSizeTable(count: 1, size: 4))) {
                try Properties.map(["bad", "map"])
            }
        }

        @Test func settingFilterStateWritesTheEncodedPath() throws {
            try Properties.set(["upstream_peer_id"], "reviews-v1")
            #expect(host.properties[Array("upstream_peer_id".utf8)] == Array("reviews-v1".utf8))
            #expect(throws: HostError(.badArgument)) { try Properties.set(["a", ""], "x") }
        }

        @Test func headerMapOperations() throws {
            let headers = HeaderMap.requestHeaders
            try headers.add("X-Trace", "1")
            try headers.add("x-trace", "2")
            #expect(try headers.value("x-trace") == "1")  // first value, as Envoy
            try headers.replace("x-trace", "3")
            #expect(try headers.pairs() == [HeaderPair("x-trace", "3")])
            try headers.add(":path", "/a")
            #expect(try headers.byteSize() == "x-trace".count + 1 + ":path".count + 2)
            try headers.remove("x-trace")
            #expect(try headers.value("x-trace") == nil)
            try headers.setPairs([HeaderPair("a", "")])
            #expect(try headers.valueBytes("a") == [])  // present but empty
            #expect(throws: HostError(.badArgument)) { try HeaderMap(.httpCallResponseHeaders).add("k", "v") }
        }

        @Test func buffersFollowEnvoysSetBytesRules() throws {
            host.buffers[BufferType.downstreamData.rawValue] = Array("world".utf8)
            let data = Buffer.downstreamData
            try data.prepend(Array("hello ".utf8))
            try data.append(Array("!".utf8))
            #expect(try data.bytes() == Array("hello world!".utf8))
            #expect(try data.bytes(start: 6, maxSize: 5) == Array("world".utf8))
            try data.drainPrefix(6)
            #expect(try data.length() == 6)
            #expect(throws: HostError(.badArgument)) { try data.replace(start: 2, length: 1, with: [0]) }
            #expect(throws: HostError(.notFound)) { try Buffer.httpCallResponseBody.bytes() }
        }

        @Test func metricCacheDefinesEachNameOnce() throws {
            let cache = MetricCache()
            let first = try cache.metric(.counter, "requests_total")
            let again = try cache.metric(.counter, "requests_total")
            #expect(first == again)
            #expect(host.calls.filter { $0 == "proxy_define_metric" }.count == 1)
            try first.increment(by: 3)
            #expect(try first.value() == 3)
            #expect(throws: HostError(.badArgument)) { try first.increment(by: 0) }
            let histogram = try cache.metric(.histogram, "latency")
            #expect(histogram.id & 3 == 2)
        }

        /// Many names in any order (prefixes of each other, bytes above 0x7F, the empty name):
        /// each is defined once and always answers with its own id.
        @Test func metricCacheKeepsEveryNameApart() throws {
            let cache = MetricCache()
            var names = ["", "a", "ab", "abc", "b", "caf\u{E9}", "cafe\u{301}", "z\u{FF}", "requests_total"]
            names += (0..<200).map { "metric_\($0 * 7919 % 1000)" }
            var generator = SystemRandomNumberGenerator()
            var ids: [[UInt8]: UInt32] = [:]  // by bytes: String keys would merge the two cafés
            for name in names.shuffled(using: &generator) { ids[Array(name.utf8)] = try cache.metric(.counter, name).id }
            #expect(cache.count == names.count)
            #expect(Set(ids.values).count == names.count)
            for name in names.shuffled(using: &generator) { #expect(try cache.metric(.counter, name).id == ids[Array(name.utf8)]) }
            #expect(host.calls.filter { $0 == "proxy_define_metric" }.count == names.count)
            cache.removeAll()
            #expect(cache.count == 0)
            #expect(try cache.metric(.counter, "a").id != ids[Array("a".utf8)])
        }

        @Test func logMessagesAreNotBuiltBelowTheHostLevel() {
            host.logLevel = .warn
            var built = 0
            func message() -> String {
                built += 1
                return "expensive"
            }
            Log.debug(message())
            Log.error(message())
            #expect(built == 1)
            #expect(host.logs.map(\.message) == ["expensive"])
            #expect(host.logs.first?.level == .error)
        }

        @Test func localResponsesEncodeTheirHeaders() throws {
            try StreamControl.sendLocalResponse(
                status: 403, details: "denied", body: Array("no".utf8),
                headers: [HeaderPair("x-reason", "policy")])
            #expect(host.localResponse?.status == 403)
            #expect(host.localResponse?.details == "denied")
            #expect(host.localResponse?.headers == [HeaderPair("x-reason", "policy")])
        }

        @Test func unimplementedHostCallsSurfaceAsErrors() {
            #expect(throws: HostError(.unimplemented)) { try SharedData.set("k", [1]) }
            #expect(throws: HostError(.unimplemented)) { try Clock.nowNanoseconds() }
        }
    }
}
