import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmWasmKit
import TelemetryCore

/// Runs a `Scenario`: builds the proxies, loads every plugin module into its
/// own VM (validated like Envoy), then drives the traffic. A request listed
/// `through` several proxies is a mesh hop: each proxy's request headers
/// output is the next proxy's input, and responses flow back in reverse.
public final class ScenarioRunner {
    public struct RunningPlugin {
        public let spec: Scenario.PluginSpec
        public let vm: PluginVM
        public let guest: GuestInstance
        public let root: UInt32
    }

    public struct RunningProxy {
        public let spec: Scenario.ProxySpec
        public let proxy: Proxy
        public let plugins: [RunningPlugin]
        public let renderer: PrometheusRenderer
    }

    /// What the client saw for one HTTP request.
    public struct HTTPOutcome {
        public let status: UInt32
        public let responseHeaders: [HeaderPair]
        /// Request headers as they reached the application.
        public let upstreamRequestHeaders: [HeaderPair]
        public let localReplyDetails: String?
        /// The plugin (`proxy/plugin`) that still held the request when no
        /// call-out answer was left to wait for; the request never left it.
        public var heldBy: String? = nil
    }

    /// What each end saw for one TCP connection.
    public struct TCPOutcome {
        public let receivedByUpstream: [UInt8]
        public let receivedByDownstream: [UInt8]
    }

    public let scenario: Scenario
    public let trace: TraceRecorder
    public private(set) var proxies: [RunningProxy] = []
    public private(set) var httpOutcomes: [HTTPOutcome] = []
    public private(set) var tcpOutcomes: [TCPOutcome] = []

    /// Attaches the guest that runs a plugin to its VM (and runs its start functions).
    public typealias GuestLoader = (Scenario.PluginSpec, PluginVM) throws -> GuestInstance

    /// Loads every plugin; throws `ModuleLoadError`, `PluginStartError` or a
    /// file error naming the plugin. `loader` replaces loading the plugin's
    /// module file into WasmKit (the null VM runs natively compiled plugins).
    public init(
        scenario: Scenario, trace: TraceRecorder = TraceRecorder(), limits: GuestLimits = GuestLimits(),
        loader: GuestLoader? = nil
    ) throws {
        self.scenario = scenario
        self.trace = trace
        for spec in scenario.proxies {
            let proxy = Proxy(name: spec.name, dialect: scenario.dialect)
            proxy.setNode(id: spec.nodeID, cluster: spec.cluster, metadata: spec.metadata)
            if let direction = spec.listenerDirection { proxy.setXDS("listener_direction", .int(direction.rawValue)) }
            for (cluster, upstream) in spec.upstreams {
                proxy.upstreams.clusters[cluster] = proxy.upstreams.clusters[cluster] ?? CalloutCluster()
                if let reply = upstream.http { proxy.upstreams.http(cluster) { _ in reply } }
                if let reply = upstream.grpc {
                    proxy.upstreams.grpc(cluster) { _, input in
                        if case .message = input { return GrpcCalloutReply() }
                        return reply
                    }
                }
            }
            var plugins: [RunningPlugin] = []
            for plugin in spec.plugins {
                let vm = PluginVM(proxy: proxy, vmID: plugin.vmID, trace: trace)
                vm.traceSource = "\(spec.name)/\(plugin.name)"
                vm.allowedCapabilities = plugin.allowedCapabilities
                let guest: GuestInstance
                do {
                    if let loader {
                        guest = try loader(plugin, vm)
                    } else {
                        guard let data = FileManager.default.contents(atPath: plugin.module.path) else {
                            throw RunError(message: "proxy \(spec.name), plugin \(plugin.name): cannot read \(plugin.module.path)")
                        }
                        guest = try WasmKitGuest.load([UInt8](data), into: vm, limits: limits)
                    }
                } catch let error as ModuleLoadError {
                    throw RunError(message: "proxy \(spec.name), plugin \(plugin.name): \(error)")
                } catch let error as PluginStartError {
                    throw RunError(message: "proxy \(spec.name), plugin \(plugin.name): \(error)")
                }
                let root: UInt32
                do {
                    root = try vm.startPlugin(
                        PluginConfiguration(
                            name: plugin.name, rootID: plugin.rootID, vmID: plugin.vmID, configuration: plugin.configuration,
                            vmConfiguration: plugin.vmConfiguration, failOpen: plugin.failOpen))
                } catch {
                    let logs = proxy.logs.filter { $0.level >= .warn }.map { "  [\($0.level.name)] \($0.message)" }
                    throw RunError(message: (["proxy \(spec.name), plugin \(plugin.name): \(error)"] + logs).joined(separator: "\n"))
                }
                plugins.append(RunningPlugin(spec: plugin, vm: vm, guest: guest, root: root))
            }
            let tags: [StatsTagRule]
            switch spec.statsTags {
            case let .rules(rules): tags = rules
            case .generated:
                // What `envoy-config` generates for the proxy's stats plugins: the configurations the
                // stats parser reads (another plugin's, or a stats plugin that failed to start above, is not one).
                let configurations = spec.plugins.compactMap { plugin -> StatsConfiguration? in
                    plugin.configuration.isEmpty ? nil : try? StatsConfiguration.parse(plugin.configuration)
                }
                tags = EnvoyStatsConfig.tagRules(configurations: configurations)
            }
            let renderer = try PrometheusRenderer(configuration: EnvoyStatsConfiguration(tags: tags, histogramBuckets: spec.histogramBuckets))
            proxies.append(RunningProxy(spec: spec, proxy: proxy, plugins: plugins, renderer: renderer))
        }
    }

    public struct RunError: Error, CustomStringConvertible {
        public let message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// How many call-out answers one request may wait through before it counts as held.
    static let maxCalloutAnswersPerRequest = 1000

    func proxy(named name: String) -> RunningProxy { proxies.first { $0.spec.name == name }! }

    /// Drives all traffic of the scenario; trace events are stamped with the
    /// request (`request 1`, ...) or connection (`connection 1`, ...) they belong to.
    public func run() {
        for item in scenario.traffic {
            switch item {
            case let .http(exchange):
                for _ in 0..<exchange.repeatCount {
                    trace.exchange = "request \(httpOutcomes.count + 1)"
                    httpOutcomes.append(runHTTP(exchange))
                }
            case let .tcp(exchange):
                for _ in 0..<exchange.repeatCount {
                    trace.exchange = "connection \(tcpOutcomes.count + 1)"
                    tcpOutcomes.append(runTCP(exchange))
                }
            }
        }
        trace.exchange = nil
    }

    /// One request through the listed proxies and back.
    public func runHTTP(_ exchange: Scenario.HTTPExchange) -> HTTPOutcome {
        var streams: [HttpStream] = []
        var headers = exchange.requestHeaders
        var reply: LocalResponse?
        var held: String?
        outer: for name in exchange.through {
            let running = proxy(named: name)
            let shared = StreamState()  // one Envoy stream per proxy: its filters share filter state
            for plugin in running.plugins where plugin.spec.kind == .http {
                let stream = HttpStream(
                    vm: plugin.vm, root: plugin.root, properties: running.spec.streamProperties,
                    streamState: shared)
                streams.append(stream)
                stream.sendRequestHeaders(headers, endOfStream: exchange.requestBody.isEmpty)
                if !exchange.requestBody.isEmpty { stream.sendRequestBody(exchange.requestBody) }
                // A plugin waiting for a call-out holds the request until the answer arrives
                // (bounded: a plugin that answers every answer with a new call-out stays held).
                var answers = 0
                while stream.isRequestPaused && answers < Self.maxCalloutAnswersPerRequest && running.proxy.advanceToNextCallout() {
                    answers += 1
                }
                if let local = stream.reply {
                    reply = local
                    break outer
                }
                if stream.isRequestPaused {
                    held = "\(running.spec.name)/\(plugin.spec.name)"
                    break outer
                }
                headers = stream.requestHeaders
            }
        }
        let upstreamHeaders = headers
        var response = exchange.responseHeaders
        if let reply { response = [HeaderPair(":status", String(reply.statusCode))] + reply.headers }
        if let held {
            for stream in streams { stream.complete() }
            return HTTPOutcome(status: 0, responseHeaders: [], upstreamRequestHeaders: [], localReplyDetails: nil, heldBy: held)
        }
        // Responses pass the filters in reverse order; the one that replied locally is skipped.
        for (index, stream) in streams.enumerated().reversed() {
            if reply != nil && index == streams.count - 1 { continue }
            stream.sendResponseHeaders(response, endOfStream: exchange.responseBody.isEmpty)
            if !exchange.responseBody.isEmpty && reply == nil { stream.sendResponseBody(exchange.responseBody) }
            response = stream.responseHeaders
        }
        for stream in streams {
            if exchange.durationMilliseconds > 0 {
                stream.properties = PropertyNode.map(stream.properties).mergedForRequest(
                    durationNanos: Int64(exchange.durationMilliseconds) * 1_000_000)
            }
            stream.complete()
        }
        let status = response.first { $0.keyString == ":status" }.flatMap { UInt32($0.valueString) } ?? 0
        return HTTPOutcome(
            status: status, responseHeaders: response, upstreamRequestHeaders: upstreamHeaders,
            localReplyDetails: reply?.details)
    }

    /// One connection through the listed proxies: each step's bytes cross
    /// every proxy's network plugins (downstream data client-first, upstream
    /// data server-first); then the connection closes.
    public func runTCP(_ exchange: Scenario.TCPExchange) -> TCPOutcome {
        var connections: [TcpConnection] = []
        for name in exchange.through {
            let running = proxy(named: name)
            let shared = StreamState()
            for plugin in running.plugins where plugin.spec.kind == .tcp {
                let connection = TcpConnection(
                    vm: plugin.vm, root: plugin.root, properties: running.spec.streamProperties,
                    streamState: shared)
                connection.open()
                connections.append(connection)
            }
        }
        var upstreamSeen = [Int](repeating: 0, count: connections.count)
        var downstreamSeen = [Int](repeating: 0, count: connections.count)
        var receivedByUpstream: [UInt8] = []
        var receivedByDownstream: [UInt8] = []
        for step in exchange.steps {
            switch step {
            case let .downstream(bytes, end):
                var chunk = bytes
                for (index, connection) in connections.enumerated() {
                    connection.downstreamData(chunk, endOfStream: end)
                    chunk = Array(connection.forwardedUpstream[upstreamSeen[index]...])
                    upstreamSeen[index] = connection.forwardedUpstream.count
                }
                receivedByUpstream += chunk
            case let .upstream(bytes, end):
                var chunk = bytes
                for (index, connection) in connections.enumerated().reversed() {
                    connection.upstreamData(chunk, endOfStream: end)
                    chunk = Array(connection.forwardedDownstream[downstreamSeen[index]...])
                    downstreamSeen[index] = connection.forwardedDownstream.count
                }
                receivedByDownstream += chunk
            }
        }
        for connection in connections { connection.close(peer: .remote) }
        if connections.isEmpty {
            for step in exchange.steps {
                switch step {
                case let .downstream(bytes, _): receivedByUpstream += bytes
                case let .upstream(bytes, _): receivedByDownstream += bytes
                }
            }
        }
        return TCPOutcome(receivedByUpstream: receivedByUpstream, receivedByDownstream: receivedByDownstream)
    }

    /// Each proxy's `/stats/prometheus` text.
    public func prometheus() -> [(proxy: String, text: String)] {
        proxies.map { ($0.spec.name, $0.renderer.render($0.proxy.stats)) }
    }
}

extension PropertyNode {
    func mergedForRequest(durationNanos: Int64) -> [PropertyEntry] {
        merged(with: .map([PropertyEntry("request", .map([PropertyEntry("duration", .duration(durationNanos))]))])).entriesList
    }

    var entriesList: [PropertyEntry] {
        if case let .map(entries) = self { return entries }
        return []
    }
}
