import Foundation
import MetadataExchange
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestFixtures
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// Peer-controlled bytes through the real .wasm modules (wasm32: `Int` is 32
/// bits there, so a length or offset with the top bit set is negative as an
/// `Int`; the native tests cannot see that). No input may trap the VM, hide
/// the next connection, change the application's bytes or grow the log.
@Suite("hostile peers through the wasm32 modules")
struct HostilePeerTests {
    /// The peer certificate's URI SAN is whatever the client's certificate
    /// says: only Istio's exact `spiffe://<domain>/ns/<namespace>/sa/<account>`
    /// layout gives a namespace, read by the wasm32 module without a trap.
    @Test(arguments: [
        ("spiffe://cluster.local/ns/frontend/sa/web", "frontend"),
        ("spiffe://cluster.local/ns//sa/web", "unknown"),
        ("spiffe://cluster.local/ns/a/sa/b/c", "unknown"),
        ("spiffe:/", "unknown"),
        ("spiffe://" + String(repeating: "/ns/x", count: 10_000) + "/sa/y", "unknown"),
        ("spiffe://d/ns/" + String(repeating: "n", count: 70_000) + "/sa/y", String(repeating: "n", count: 70_000)),
    ])
    func spiffeNamespacesOfHostileCertificates(_ principal: String, _ namespace: String) throws {
        let sidecar = try StatsSidecar()
        let stream = HttpStream(
            vm: sidecar.vm, root: sidecar.root,
            properties: [
                PropertyEntry(
                    "connection",
                    .map([
                        PropertyEntry("uri_san_peer_certificate", .string(principal)),
                        PropertyEntry("mtls", .bool(true)),
                    ]))
            ])
        stream.sendRequestHeaders([HeaderPair(":path", "/"), HeaderPair(":authority", "reviews")])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        #expect(sidecar.vm.failure == nil)
        let name = try #require(sidecar.proxy.stats.stats.map(\.name).first { $0.hasSuffix("istio_requests_total") })
        #expect(name.contains(";.;source_workload_namespace=.=\(namespace);.;"))
    }

    typealias Sidecar = ExchangeSidecar

    static let magic: [UInt8] = [0x3D, 0x23, 0x04, 0x67]

    func serverConnection(_ server: Sidecar) -> TcpConnection {
        let connection = TcpConnection(
            vm: server.vm, root: server.root,
            properties: [PropertyEntry("connection", .map([PropertyEntry("mtls", .bool(true))]))])
        connection.open()
        return connection
    }

    func clientConnection(_ client: Sidecar) -> TcpConnection {
        let connection = TcpConnection(vm: client.vm, root: client.root, properties: ExchangeSidecar.meshUpstream)
        connection.open()
        return connection
    }

    @Test(arguments: [UInt32(0x8000_0000), 0xFFFF_FFFF, 0x8000_0010, 0xC000_0000, 0x7FFF_FFFF, 0x0001_0001])
    func anAnnouncedLengthOutOfRangeNeitherTrapsNorHidesTheNextConnection(_ length: UInt32) throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let client = try ExchangeSidecar(id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound)
        let header = Self.magic + [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        let hostile = header + Array("application bytes".utf8)
        for chunk in [hostile.count, 1] {
            let connection = serverConnection(server)
            var index = 0
            while index < hostile.count {
                connection.downstreamData(Array(hostile[index..<min(hostile.count, index + chunk)]))
                index += chunk
            }
            connection.downstreamData([], endOfStream: true)
            #expect(connection.forwardedUpstream == hostile, "length \(length), chunks of \(chunk)")
            #expect(connection.context?.filterState["wasm.downstream_peer_id"] == Array("envoy.wasm.metadata_exchange.peer_unknown".utf8))
            connection.upstreamData(Array("reply".utf8))
            #expect(connection.forwardedDownstream == Array("reply".utf8))  // no prefix towards a peer that sent none
            connection.close()
        }
        #expect(server.vm.failure == nil)
        // The next valid connection through the same VM is exchanged.
        let outbound = clientConnection(client)
        outbound.downstreamData(Array("ping".utf8))
        let inbound = serverConnection(server)
        inbound.downstreamData(outbound.forwardedUpstream)
        #expect(inbound.forwardedUpstream == Array("ping".utf8))
        #expect(inbound.context?.filterState["wasm.downstream_peer_id"] == Array("client".utf8))
        #expect(server.noFailures && client.noFailures)
    }

    /// Peers that did not negotiate the exchange get exactly the
    /// application's bytes, in both directions, and no metadata.
    @Test func nonMeshPeersReceiveExactlyTheApplicationsBytes() throws {
        let client = try ExchangeSidecar(id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound)
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let request = Array("request bytes".utf8)
        let greeting = Array("220 server speaks first\r\n".utf8)
        // Outbound to a plaintext upstream, and to a TLS upstream without a SPIFFE id.
        let plainUpstreams: [[PropertyEntry]] = [
            [],
            [
                PropertyEntry(
                    "upstream",
                    .map([
                        PropertyEntry("tls_version", .string("TLSv1.3")), PropertyEntry("uri_san_peer_certificate", .string("https://example.com")),
                    ]))
            ],
        ]
        for properties in plainUpstreams {
            let connection = TcpConnection(vm: client.vm, root: client.root, properties: properties)
            connection.open()
            connection.downstreamData(request)
            connection.upstreamData(greeting)
            #expect(connection.forwardedUpstream == request && connection.forwardedDownstream == greeting)
        }
        // Outbound to a mesh upstream that speaks first: nothing of ours goes out, theirs is untouched.
        let first = TcpConnection(vm: client.vm, root: client.root, properties: ExchangeSidecar.meshUpstream)
        first.open()
        first.upstreamData(greeting)
        first.downstreamData(request)
        #expect(first.forwardedDownstream == greeting && first.forwardedUpstream == request)
        // Inbound, a server application that speaks first, on mTLS and on plaintext chains.
        for mtls in [true, false] {
            let connection = TcpConnection(
                vm: server.vm, root: server.root,
                properties: [PropertyEntry("connection", .map([PropertyEntry("mtls", .bool(mtls))]))])
            connection.open()
            connection.upstreamData(greeting)
            connection.downstreamData(request)
            connection.upstreamData(Array("more".utf8))
            #expect(connection.forwardedDownstream == greeting + Array("more".utf8), "mtls \(mtls)")
            #expect(connection.forwardedUpstream == request)
        }
        #expect(client.proxy.stats.stat(named: "metadata_exchange.metadata_added")?.value ?? 0 == 0)
        #expect(server.proxy.stats.stat(named: "metadata_exchange.metadata_added")?.value ?? 0 == 0)
        #expect(client.noFailures && server.noFailures)
    }

    @Test func aHundredBadConnectionsLogOneLinePerKind() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        for index in 0..<100 {
            let connection = serverConnection(server)
            let length = UInt32(0x0002_0000 + index)  // a different oversized length each time
            connection.downstreamData(
                Self.magic + [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
            connection.close()
            let garbage = serverConnection(server)
            garbage.downstreamData(Array("GET /\(index) HTTP/1.1\r\n".utf8))
            garbage.close()
        }
        let lines = server.proxy.logs.filter { $0.message.hasPrefix("metadata_exchange:") }
        #expect(lines.count == 2, "\(lines.map(\.message))")  // one oversized, one magic mismatch
        #expect(server.noFailures)
    }

    /// FlatNode bytes in the peer's filter state with offsets and counts that
    /// are negative as a 32-bit `Int`: stats.wasm reports the request with an
    /// unknown peer instead of trapping.
    @Test(arguments: HostilePeerTests.hostileFlatNodes.indices)
    func hostileFlatNodeBytesAreIgnoredByStats(_ index: Int) throws {
        let sidecar = try StatsSidecar()
        for _ in 0..<2 { sidecar.request(state: StatsSidecar.downstreamPeer(Self.hostileFlatNodes[index].bytes)) }
        #expect(sidecar.vm.failure == nil)
        #expect(sidecar.requestsTotal == 2)
        if Self.hostileFlatNodes[index].rejected {
            let totals = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
            #expect(totals.allSatisfy { $0.name.contains("source_workload=.=unknown;.;") })
        }
    }

    /// Valid FlatNode bytes with one u32 replaced by a hostile value, and
    /// whether the whole node must be rejected (an offset, not string bytes).
    static let hostileFlatNodes: [(bytes: [UInt8], rejected: Bool)] = {
        var node = PeerNode()
        node.workloadName = "w"
        node.labels = [KeyValue("app", "a")]
        node.appContainers = ["c"]
        let valid = FlatNodeCodec.encode(node)
        var cases: [(bytes: [UInt8], rejected: Bool)] = []
        func with(_ offset: Int, _ value: UInt32) -> [UInt8] {
            var bytes = valid
            for shift in 0..<4 { bytes[offset + shift] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(shift))) }
            return bytes
        }
        let table = Int(valid[0]) | Int(valid[1]) << 8
        for value: UInt32 in [0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF0, 0x7FFF_FFFF] {
            cases.append((with(0, value), true))  // root offset
            cases.append((with(table, value), true))  // soffset to the vtable (Int32.min when 0x80000000)
            for slot in stride(from: table + 4, to: min(valid.count - 3, table + 4 + 4 * 4), by: 4) {
                cases.append((with(slot, value), true))  // field offsets
            }
        }
        // Every u32-aligned position set to Int32.min, one at a time (some land in
        // string bytes and decode to other text: those must only not trap).
        for position in stride(from: 0, to: valid.count - 3, by: 4) { cases.append((with(position, 0x8000_0000), false)) }
        return cases
    }()

    // MARK: the peer cache

    /// Forged metadata under a victim's id must not change the labels the
    /// victim's own requests get afterwards.
    @Test func forgedMetadataUnderSomeoneElsesIDDoesNotStick() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let legitimate = IstioTestdata.exchangeVector("client", "header_b64")
        let forged = IstioTestdata.exchangeVector("minimal", "header_b64")
        _ = server.stream([HeaderPair("x-envoy-peer-metadata-id", "victim"), HeaderPair("x-envoy-peer-metadata", forged)])
        let later = server.stream([HeaderPair("x-envoy-peer-metadata-id", "victim"), HeaderPair("x-envoy-peer-metadata", legitimate)])
        #expect(try ExchangeSidecar.peer(later, "downstream_peer")?.workloadName == "productpage-v1")
        let again = server.stream([HeaderPair("x-envoy-peer-metadata-id", "victim"), HeaderPair("x-envoy-peer-metadata", forged)])
        #expect(try ExchangeSidecar.peer(again, "downstream_peer")?.workloadName == "w")
        #expect(server.noFailures)
    }

    /// TCP peers are cached by their whole prefix payload: a peer that
    /// changes its metadata under the same id is decoded again, and each
    /// connection gets exactly the peer it sent.
    @Test func aTcpPeerIsServedOnlyForTheExactPrefixItSent() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let genuine = try ExchangeSidecar(id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound)
        let impostor = try ExchangeSidecar(id: "client", metadataFile: "server_node_metadata.rendered.json", direction: .outbound)
        func connect(_ client: Sidecar) throws -> String? {
            let (outbound, inbound) = ExchangeSidecar.openConnections(client, server)
            outbound.downstreamData(Array("hello".utf8))
            inbound.downstreamData(outbound.forwardedUpstream)
            #expect(inbound.forwardedUpstream == Array("hello".utf8))
            #expect(inbound.context?.filterState["wasm.downstream_peer_id"] == Array("client".utf8))
            let peer = try FlatNodeCodec.decode(try #require(inbound.context?.filterState["wasm.downstream_peer"]))
            outbound.close()
            inbound.close()
            return peer.workloadName
        }
        #expect(try connect(genuine) == "productpage-v1")
        #expect(try connect(impostor) == "ratings-v1")
        #expect(try connect(genuine) == "productpage-v1")
        #expect(try connect(impostor) == "ratings-v1")
        #expect(server.noFailures)
    }

    @Test func aFullCacheEvictsItsOldestQuarter() {
        let cache = PeerCache(capacity: 8)
        func metadata(_ index: Int) -> [UInt8] { Array("metadata of peer \(index)".utf8) }
        for index in 0..<8 { cache.insert(id: Array("peer-\(index)".utf8), metadata: metadata(index), node: [UInt8(index)]) }
        cache.insert(id: Array("peer-8".utf8), metadata: metadata(8), node: [8])
        #expect(cache.count == 7)
        for index in 0..<2 { #expect(cache.lookup(id: Array("peer-\(index)".utf8), metadata: metadata(index)) == nil) }
        for index in 2...8 { #expect(cache.lookup(id: Array("peer-\(index)".utf8), metadata: metadata(index)) == [UInt8(index)]) }
    }

    @Test func aCachedNodeServesOnlyTheBytesItWasDecodedFrom() {
        let cache = PeerCache(capacity: 8)
        cache.insert(id: Array("victim".utf8), metadata: Array("forged".utf8), node: [1])
        #expect(cache.lookup(id: Array("victim".utf8), metadata: Array("genuine".utf8)) == nil)
        #expect(cache.lookup(id: Array("victim".utf8), metadata: Array("forgeD".utf8)) == nil)
        #expect(cache.lookup(id: Array("other".utf8), metadata: Array("forged".utf8)) == nil)
        cache.insert(id: Array("victim".utf8), metadata: Array("genuine".utf8), node: [2])
        #expect(cache.lookup(id: Array("victim".utf8), metadata: Array("genuine".utf8)) == [2] && cache.count == 1)
        #expect(cache.heldBytes == "genuine".utf8.count + 1)
        // Lengths around the 8-byte comparison stride.
        for length in [7, 8, 9, 16, 17] {
            let bytes = [UInt8](repeating: 0x41, count: length)
            cache.insert(id: Array("n\(length)".utf8), metadata: bytes, node: [3])
            var changed = bytes
            changed[length - 1] = 0x42
            #expect(cache.lookup(id: Array("n\(length)".utf8), metadata: bytes) == [3])
            #expect(cache.lookup(id: Array("n\(length)".utf8), metadata: changed) == nil)
        }
    }

    @Test func theCacheStaysWithinItsByteBudget() {
        let cache = PeerCache(capacity: 1000, byteBudget: 10_000)
        let metadata = [UInt8](repeating: 0x78, count: 500)
        for index in 0..<100 {
            cache.insert(id: Array("peer-\(index)".utf8), metadata: metadata, node: [UInt8](repeating: 1, count: 400))
            #expect(cache.heldBytes <= 10_000)
        }
        #expect(cache.count > 0 && cache.count <= 11)
        #expect(cache.lookup(id: Array("peer-99".utf8), metadata: metadata) != nil)
        // An entry larger than the whole budget is not cached at all.
        cache.insert(id: Array("huge".utf8), metadata: [UInt8](repeating: 7, count: 20_000), node: [1])
        #expect(cache.lookup(id: Array("huge".utf8), metadata: [UInt8](repeating: 7, count: 20_000)) == nil)
    }

    /// Envoy and Prometheus tell label values apart by their bytes, so a peer's
    /// "café" written precomposed (U+00E9) and decomposed ("e" + U+0301) is
    /// two series, each counting its own requests (Swift's String would call
    /// the two equal and merge them into whichever came first).
    @Test func canonicallyEquivalentValuesStayTwoSeries() throws {
        let sidecar = try StatsSidecar()
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        sidecar.request(authority: Array(composed.utf8))
        for _ in 0..<2 { sidecar.request(authority: Array(decomposed.utf8)) }
        let series = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        func requests(_ host: String) -> [UInt64] {
            series.filter { containsBytes($0.name, "destination_service=.=\(host);.;") }.map(\.value)
        }
        #expect(series.count == 2, "\(series.map(\.name))")
        #expect(requests(composed) == [1])
        #expect(requests(decomposed) == [2])
        #expect(sidecar.vm.failure == nil)
    }
}
