import ArgumentParser
import Foundation
import ProxyWasmHost
import Yams

/// `envoy-config`: the Envoy configuration the modules need, as Envoy takes it.
public struct EnvoyConfigCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "envoy-config",
        abstract: "Print Envoy configuration for the modules: stats_config (the default) or a whole sidecar.",
        subcommands: [Stats.self, Sidecar.self], defaultSubcommand: Stats.self)

    public init() {}

    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json }

    /// The options both outputs share: how the plugin's histograms are
    /// bucketed, which of Envoy's stats stay, and the output format.
    struct StatsOptions: ParsableArguments {
        @Option(name: .long, parsing: .upToNextOption, help: "Histogram bucket bounds for the plugin's histograms.")
        var buckets: [Double] = []
        @Option(
            name: .customLong("histogram-buckets"),
            help: "Per-metric bounds as Istio's sidecar.istio.io/statsHistogramBuckets annotation writes them (JSON: prefix -> bounds).")
        var histogramBuckets: String?
        @Flag(
            name: .customLong("plugin-stats-only"),
            help: "Keep only the plugin's series and the Envoy stats Istio keeps (Istio's inclusion matcher); by default Envoy's own stats stay.")
        var pluginStatsOnly = false
        @Option(name: .long, help: "yaml (default) or json.")
        var format: Format = .yaml

        /// `stats_config` for these stats plugin configurations (JSON texts).
        func statsConfig(_ pluginConfigurations: [String]) throws -> [String: Any] {
            let rules = try histogramBuckets.map {
                try EnvoyStatsConfig.histogramBuckets(annotation: $0, pluginConfigurations: pluginConfigurations)
            }
            return try EnvoyStatsConfig.statsConfig(
                pluginConfigurations: pluginConfigurations, histogramBuckets: buckets.isEmpty ? nil : buckets,
                bucketRules: rules ?? [], pluginStatsOnly: pluginStatsOnly)
        }

        func print(_ document: [String: Any]) throws {
            let document = EnvoyConfigCommand.integralNumbersAsIntegers(document) as! [String: Any]
            switch format {
            case .json:
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                Swift.print(String(decoding: data, as: UTF8.self))
            case .yaml:
                Swift.print(try Yams.dump(object: document, sortKeys: true), terminator: "")
            }
        }
    }

    /// Bucket bounds are doubles; `5` reads better than YAML's `5e+0` and JSON's `5.0`.
    static func integralNumbersAsIntegers(_ value: Any) -> Any {
        switch value {
        case let number as Double where number == number.rounded() && abs(number) < 9_007_199_254_740_992: return Int(number)
        case let list as [Any]: return list.map(integralNumbersAsIntegers)
        case let map as [String: Any]: return map.mapValues(integralNumbersAsIntegers)
        default: return value
        }
    }

    /// The contents of a file the user named, or exit 2 saying which.
    static func contents(of path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("cannot read \(path)")
            throw ExitCode(2)
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the stats_config Envoy needs for stats.wasm (tag regexes, buckets): a fragment for --config-yaml, or merged into a bootstrap.",
            discussion: """
                The default output is a YAML fragment `stats_config: ...` that `envoy --config-yaml "$(cat fragment.yaml)"` \
                merges into the bootstrap given with -c. With --bootstrap, the output is that bootstrap (YAML or JSON) with \
                stats_config merged in, ready for `envoy -c`.
                """)

        @Option(name: .customLong("stats-config"), help: "A stats plugin configuration (JSON file); repeat for each plugin.")
        var statsConfigurations: [String] = []
        @Option(name: .long, help: "A bootstrap file (YAML or JSON) to print with stats_config merged in.")
        var bootstrap: String?
        @OptionGroup var options: StatsOptions

        func run() throws {
            let texts = try statsConfigurations.map(EnvoyConfigCommand.contents(of:))
            do {
                let config = try options.statsConfig(texts)
                var document: [String: Any] = ["stats_config": config]
                if let bootstrap {
                    guard let base = try Yams.load(yaml: try EnvoyConfigCommand.contents(of: bootstrap)) as? [String: Any] else {
                        printError("\(bootstrap): not a YAML or JSON mapping")
                        throw ExitCode(2)
                    }
                    document = EnvoyStatsConfig.merged(bootstrap: base, statsConfig: config)
                }
                try options.print(document)
            } catch let problem as EnvoyStatsConfig.Problem {
                printError(problem.message)
                throw ExitCode(1)
            } catch let error as YamlError {
                printError("\(bootstrap ?? "bootstrap"): \(error)")
                throw ExitCode(2)
            }
        }
    }

    struct Sidecar: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a complete bootstrap for one sidecar running both plugins, ready for `envoy -c`.",
            discussion: """
                Inbound: one listener in front of the app; with mTLS its chains are chosen by the TLS ALPN, \
                istio-peer-exchange selecting the TCP chain (metadata_exchange, stats, tcp_proxy) and anything else \
                the HTTP chain (metadata_exchange, stats, router). Outbound: one listener per --outbound, \
                PROTOCOL:PORT=SERVICE@HOST:PORT, to the sidecar of SERVICE at HOST:PORT (http, http2: HTTP chain; \
                tcp: stats, metadata_exchange, tcp_proxy, offering ALPN istio-peer-exchange, so mTLS is needed). \
                stats_config is generated from both stats configurations, as `envoy-config stats` does.
                """)

        @Option(help: "The node id (listener names start with it).") var name = "sidecar"
        @Option(name: .customLong("node-metadata"), help: "Istio node metadata (JSON file: NAME, NAMESPACE, LABELS, WORKLOAD_NAME, ...).")
        var nodeMetadata: String?
        @Option(name: .customLong("wasm-dir"), help: "The directory holding metadata_exchange.wasm and stats.wasm, as Envoy sees it.")
        var wasmDirectory: String
        @Option(help: "The address every listener binds.") var address = "0.0.0.0"
        @Option(name: .customLong("admin-port"), help: "Envoy's admin port (bound on 127.0.0.1).") var adminPort = 15000
        @Option(help: "The inbound listener's port.") var inbound: Int?
        @Option(help: "The local app behind the inbound listener, HOST:PORT.") var app: String?
        @Option(help: "A service the app serves (host name, repeatable): the inbound side's destination_service.")
        var service: [String] = []
        @Option(help: "An outbound listener, PROTOCOL:PORT=SERVICE@HOST:PORT (repeatable).") var outbound: [String] = []
        @Option(name: .customLong("tls-cert"), help: "The workload's certificate chain (PEM) for mTLS between sidecars.") var tlsCert: String?
        @Option(name: .customLong("tls-key"), help: "Its private key (PEM).") var tlsKey: String?
        @Option(name: .customLong("tls-ca"), help: "The mesh's trusted CA (PEM).") var tlsCA: String?
        @Option(name: .customLong("metadata-exchange-config"), help: "metadata_exchange's configuration (JSON file).")
        var metadataExchangeConfig: String?
        @Option(name: .customLong("outbound-stats-config"), help: "stats' configuration on outbound listeners (JSON file).")
        var outboundStatsConfig: String?
        @Option(name: .customLong("inbound-stats-config"), help: "stats' configuration on the inbound listener (JSON file).")
        var inboundStatsConfig: String?
        @OptionGroup var options: StatsOptions

        func run() throws {
            do {
                let spec = try sidecarSpec()
                let config = try options.statsConfig([spec.outboundStatsConfiguration, spec.inboundStatsConfiguration])
                try options.print(try EnvoySidecarConfig.bootstrap(spec, statsConfig: config))
            } catch let problem as EnvoySidecarConfig.Problem {
                printError(problem.message)
                throw ExitCode(1)
            } catch let problem as EnvoyStatsConfig.Problem {
                printError(problem.message)
                throw ExitCode(1)
            }
        }

        func sidecarSpec() throws -> SidecarSpec {
            var metadata: [String: Any] = [:]
            if let nodeMetadata {
                guard let object = try? JSONSerialization.jsonObject(with: Data(try contents(of: nodeMetadata).utf8)) as? [String: Any] else {
                    throw EnvoySidecarConfig.Problem(message: "\(nodeMetadata): not a JSON object")
                }
                metadata = object
            }
            var inboundListener: (port: Int, app: SidecarSpec.Address)?
            switch (inbound, app) {
            case (nil, nil): break
            case let (port?, app?):
                guard (1...65535).contains(port) else { throw EnvoySidecarConfig.Problem(message: "--inbound \(port): not a port number") }
                guard let address = SidecarSpec.Address(parsing: app) else {
                    throw EnvoySidecarConfig.Problem(message: "--app \(app): expected HOST:PORT")
                }
                inboundListener = (port, address)
                for host in service where !SidecarSpec.isHostName(host) {
                    throw EnvoySidecarConfig.Problem(message: "--service \(host): not a host name")
                }
            default: throw EnvoySidecarConfig.Problem(message: "--inbound and --app go together")
            }
            if inboundListener == nil, !service.isEmpty {
                throw EnvoySidecarConfig.Problem(message: "--service names what the inbound listener serves: give --inbound and --app")
            }
            var tls: SidecarSpec.TLSFiles?
            switch (tlsCert, tlsKey, tlsCA) {
            case (nil, nil, nil): break
            case let (cert?, key?, ca?): tls = SidecarSpec.TLSFiles(certificateChain: cert, privateKey: key, trustedCA: ca)
            default: throw EnvoySidecarConfig.Problem(message: "--tls-cert, --tls-key and --tls-ca go together")
            }
            return SidecarSpec(
                name: name, nodeMetadata: metadata, moduleDirectory: wasmDirectory, listenAddress: address, adminPort: adminPort,
                inbound: inboundListener, inboundServices: service, outbound: try outbound.map(SidecarSpec.Outbound.init(parsing:)), tls: tls,
                metadataExchangeConfiguration: try metadataExchangeConfig.map(contents(of:)) ?? "",
                outboundStatsConfiguration: try outboundStatsConfig.map(contents(of:)) ?? "",
                inboundStatsConfiguration: try inboundStatsConfig.map(contents(of:)) ?? "")
        }

        func contents(of path: String) throws -> String { try EnvoyConfigCommand.contents(of: path) }
    }
}
