import PluginJSON

/// Istio's stats plugin configuration (`extensions/stats/config.proto`), read
/// as leniently as Istio reads it: booleans as `true`/`"true"`, numbers as
/// numbers or numeric strings; deprecated fields accepted and ignored. The
/// stats plugin runs on it, and the host's `envoy-config` derives Envoy's tag
/// rules from the same parse, so both accept and refuse the same documents.
public struct StatsConfiguration {
    /// One entry of `metrics`: changes to a standard (or defined) metric.
    public struct MetricOverride {
        public var name = ""
        /// Dimensions to add or replace, label name to CEL expression, in sorted key order.
        public var dimensions: [(key: String, value: String)] = []
        public var tagsToRemove: [String] = []
        public var drop = false
    }

    /// The kind of a metric `definitions` adds.
    public enum MetricKind: Int, Equatable, NamedByBytes {
        case counter, gauge, histogram
        public static let names: StaticString = "COUNTER, GAUGE, HISTOGRAM"
    }

    /// One entry of `definitions`: a new metric and the CEL expression of its value.
    public struct Definition {
        public var name: String
        public var value: String
        public var type: MetricKind
    }

    /// Which proxy this plugin runs in (`reporter`).
    public var reporter = ReporterSetting.unspecified
    public var fieldSeparator = ";.;"
    public var valueSeparator = "=.="
    public var disableHostHeaderFallback = false
    /// Whether `disable_host_header_fallback` was set (a gateway turns the fallback off otherwise).
    public var hostHeaderFallbackIsConfigured = false
    public var tcpReportingMilliseconds: UInt32 = 15_000
    /// Distinct label sets one plugin instance defines series for; past it,
    /// new label sets are reported under one overflow series per metric.
    public var maxLabelSets = StatsConfiguration.defaultMaxLabelSets
    public static let defaultMaxLabelSets = 1000
    /// How long a label set may go without a report before the plugin
    /// forgets its metrics (`metric_expiry_duration`); nil: never.
    public var metricExpiryMilliseconds: UInt32?
    public var overrides: [MetricOverride] = []
    public var definitions: [Definition] = []
    /// Problems that do not reject the configuration (Istio logs and goes on).
    public var warnings: [String] = []

    public init() {}

    /// Reads a configuration (empty bytes: every default); refuses what
    /// Istio refuses, with the field named, and collects what Istio only logs in `warnings`.
    public static func parse(_ bytes: [UInt8]) throws(StatsConfigurationError) -> StatsConfiguration {
        var configuration = StatsConfiguration()
        if bytes.isEmpty { return configuration }
        let document: JSONValue
        do throws(JSONError) { document = try JSONParser.parse(bytes) } catch { throw StatsConfigurationError(error.message) }
        guard case let .object(members) = document else {
            throw StatsConfigurationError("expected a JSON object, found \(document.typeName)")
        }
        for member in members {
            switch Field(name: member.key) {
            case .fieldSeparator?: configuration.fieldSeparator = try string(member.value, member.key)
            case .valueSeparator?: configuration.valueSeparator = try string(member.value, member.key)
            case .disableHostHeaderFallback?:
                configuration.disableHostHeaderFallback = try bool(member.value, member.key)
                configuration.hostHeaderFallbackIsConfigured = true
            case .reporter?: configuration.reporter = try ReporterSetting.parse(member.value)
            case .metricExpiryDuration?:
                let text = try string(member.value, member.key)
                guard let milliseconds = duration(text) else {
                    throw StatsConfigurationError("metric_expiry_duration \"\(text)\" is not a duration (for example \"300s\")")
                }
                configuration.metricExpiryMilliseconds = milliseconds == 0 ? nil : milliseconds
            case .tcpReportingDuration?:
                let text = try string(member.value, member.key)
                if let milliseconds = duration(text) {
                    configuration.tcpReportingMilliseconds = milliseconds
                } else {
                    configuration.warnings.append("tcp_reporting_duration \"\(text)\" is not a duration; keeping 15s")
                }
            case .maxLabelSets?: configuration.maxLabelSets = try count(member.value, member.key, limit: 1_000_000)
            case .metrics?: configuration.overrides = try metrics(member.value)
            case .definitions?: configuration.definitions = try definitions(member.value, &configuration.warnings)
            case .debug?, .statPrefix?, .maxPeerCacheSize?:
                break  // deprecated in Istio, accepted and ignored
            case nil:
                configuration.warnings.append("unknown field \"\(member.key)\" ignored")
            }
        }
        if configuration.reporter == .gateway && !configuration.hostHeaderFallbackIsConfigured {
            // Istio's gateway default: a client's Host header is not a destination service.
            configuration.disableHostHeaderFallback = true
        }
        if configuration.fieldSeparator.isEmpty || configuration.valueSeparator.isEmpty {
            throw StatsConfigurationError("field_separator and value_separator must not be empty")
        }
        return configuration
    }

    /// The top-level fields, matched as bytes.
    enum Field: Int, NamedByBytes {
        case fieldSeparator, valueSeparator, disableHostHeaderFallback, reporter, metricExpiryDuration
        case tcpReportingDuration, maxLabelSets, metrics, definitions, debug, statPrefix, maxPeerCacheSize

        static let names: StaticString = """
            field_separator, value_separator, disable_host_header_fallback, reporter, metric_expiry_duration, \
            tcp_reporting_duration, max_label_sets, metrics, definitions, debug, stat_prefix, max_peer_cache_size
            """
    }

    /// The fields of a `metrics` entry.
    enum OverrideField: Int, NamedByBytes {
        case name, drop, tagsToRemove, dimensions, match
        static let names: StaticString = "name, drop, tags_to_remove, dimensions, match"
    }

    /// The fields of a `definitions` entry.
    enum DefinitionField: Int, NamedByBytes {
        case name, value, type
        static let names: StaticString = "name, value, type"
    }

    static func string(_ value: JSONValue, _ field: String) throws(StatsConfigurationError) -> String {
        guard case let .string(text) = value else {
            throw StatsConfigurationError("field \"\(field)\" must be a string, found \(value.typeName)")
        }
        return text
    }

    /// A number or numeric string from 1 to `limit` (protobuf JSON for integers).
    static func count(_ value: JSONValue, _ field: String, limit: Int) throws(StatsConfigurationError) -> Int {
        let text: String
        switch value {
        case let .number(number): text = number
        case let .string(string): text = string
        default: throw StatsConfigurationError("field \"\(field)\" must be a number, found \(value.typeName)")
        }
        // Parsed as UInt32: one integer parser specialisation in the module.
        guard let number = UInt32(text), number >= 1, UInt64(number) <= UInt64(limit) else {
            throw StatsConfigurationError("field \"\(field)\" must be an integer from 1 to \(limit), found \(text)")
        }
        return Int(number)
    }

    static func bool(_ value: JSONValue, _ field: String) throws(StatsConfigurationError) -> Bool {
        switch value {
        case let .bool(flag): return flag
        case let .string(text) where UTF8Text.equal(text, "true"): return true
        case let .string(text) where UTF8Text.equal(text, "false"): return false
        default: throw StatsConfigurationError("field \"\(field)\" must be true or false, found \(value.typeName)")
        }
    }

    /// Milliseconds of a duration: protobuf JSON's `"<seconds>[.<fraction>]s"`
    /// (`"15s"`, `"0.5s"`, `"1.5s"`, up to nine fraction digits) and the
    /// `"500ms"` / `"2m"` forms Istio configurations also use. A part below a
    /// millisecond is dropped, but a non-zero duration is at least 1 ms (a
    /// tick period of 0 would stop periodic reports altogether).
    public static func duration(_ text: String) -> UInt32? {
        var whole: UInt64 = 0
        var wholeDigits = 0
        var fraction: UInt64 = 0
        var fractionDigits = 0
        var sawPoint = false
        var nonZeroFraction = false
        var unit: [UInt8] = []
        for byte in text.utf8 {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if unit.isEmpty && isDigit && !sawPoint {
                wholeDigits += 1
                if wholeDigits > 9 { return nil }
                whole = whole * 10 + UInt64(byte - UInt8(ascii: "0"))
            } else if unit.isEmpty && isDigit {
                fractionDigits += 1
                if fractionDigits > 9 { return nil }
                if fractionDigits <= 3 { fraction = fraction * 10 + UInt64(byte - UInt8(ascii: "0")) }
                if byte != UInt8(ascii: "0") { nonZeroFraction = true }
            } else if unit.isEmpty && byte == UInt8(ascii: ".") && !sawPoint && wholeDigits > 0 {
                sawPoint = true
            } else {
                unit.append(byte)
            }
        }
        guard wholeDigits > 0, !sawPoint || fractionDigits > 0 else { return nil }
        if fractionDigits == 1 { fraction *= 100 } else if fractionDigits == 2 { fraction *= 10 }
        let milliseconds: UInt64
        switch unit.count {
        case 1 where unit[0] == UInt8(ascii: "s"): milliseconds = whole * 1000 + fraction
        case 2 where unit[0] == UInt8(ascii: "m") && unit[1] == UInt8(ascii: "s") && !sawPoint: milliseconds = whole
        case 1 where unit[0] == UInt8(ascii: "m") && !sawPoint: milliseconds = whole * 60_000
        default: return nil
        }
        guard milliseconds <= UInt64(UInt32.max) else { return nil }
        if milliseconds == 0 && nonZeroFraction { return 1 }
        return UInt32(milliseconds)
    }

    static func metrics(_ value: JSONValue) throws(StatsConfigurationError) -> [MetricOverride] {
        guard case let .array(items) = value else { throw StatsConfigurationError("field \"metrics\" must be a list") }
        var result: [MetricOverride] = []
        for (index, item) in items.enumerated() {
            guard case let .object(members) = item else { throw StatsConfigurationError("metrics[\(index)] must be an object") }
            var entry = MetricOverride()
            for member in members {
                switch OverrideField(name: member.key) {
                case .name?: entry.name = try string(member.value, "metrics[\(index)].name")
                case .drop?: entry.drop = try bool(member.value, "metrics[\(index)].drop")
                case .tagsToRemove?:
                    guard case let .array(tags) = member.value else {
                        throw StatsConfigurationError("metrics[\(index)].tags_to_remove must be a list")
                    }
                    for tag in tags { entry.tagsToRemove.append(try string(tag, "metrics[\(index)].tags_to_remove")) }
                case .dimensions?:
                    guard case let .object(dimensions) = member.value else {
                        throw StatsConfigurationError("metrics[\(index)].dimensions must be an object")
                    }
                    for dimension in dimensions {
                        entry.dimensions.append((dimension.key, try string(dimension.value, "metrics[\(index)].dimensions.\(dimension.key)")))
                    }
                    // Istio applies dimensions in sorted key order (a protobuf map).
                    StableSort.sort(&entry.dimensions) { UTF8Text.compare($0.key, $1.key) < 0 }
                case .match?: break  // not implemented by Istio either
                case nil: throw StatsConfigurationError("unknown field \"\(member.key)\" in metrics[\(index)]")
                }
            }
            result.append(entry)
        }
        return result
    }

    static func definitions(_ value: JSONValue, _ warnings: inout [String]) throws(StatsConfigurationError) -> [Definition] {
        guard case let .array(items) = value else { throw StatsConfigurationError("field \"definitions\" must be a list") }
        var result: [Definition] = []
        for (index, item) in items.enumerated() {
            guard case let .object(members) = item else { throw StatsConfigurationError("definitions[\(index)] must be an object") }
            var name = ""
            var valueText = ""
            var type = MetricKind.counter
            for member in members {
                switch DefinitionField(name: member.key) {
                case .name?: name = try string(member.value, "definitions[\(index)].name")
                case .value?: valueText = try string(member.value, "definitions[\(index)].value")
                case .type?:
                    guard let kind = MetricKind(name: try string(member.value, "definitions[\(index)].type")) else {
                        throw StatsConfigurationError("definitions[\(index)].type must be COUNTER, GAUGE or HISTOGRAM")
                    }
                    type = kind
                case nil: throw StatsConfigurationError("unknown field \"\(member.key)\" in definitions[\(index)]")
                }
            }
            if name.isEmpty || valueText.isEmpty {
                // Istio abandons the rest of the list at the first incomplete definition.
                warnings.append("definitions[\(index)] needs a name and a value; it and the following definitions are ignored")
                break
            }
            result.append(Definition(name: name, value: valueText, type: type))
        }
        return result
    }
}

/// The `reporter` setting: which kind of proxy the plugin runs in.
public enum ReporterSetting: Equatable {
    /// From the root id (`stats_outbound`, `stats_inbound`), else the listener direction.
    case unspecified
    case clientSidecar
    case serverSidecar
    /// An ingress or egress gateway: reports as the source (the gateway
    /// itself) towards its upstream; the Host header fallback is off unless
    /// `disable_host_header_fallback` says otherwise.
    case gateway
    /// A waypoint, Istio's `SERVER_GATEWAY`: reports as `waypoint`, with the
    /// downstream peer as source and the upstream peer as destination.
    case waypoint

    /// The names, in the order of `parse`'s positions (also the error message's list).
    public static let names: StaticString = "UNSPECIFIED, CLIENT_SIDECAR, SERVER_SIDECAR, GATEWAY, SERVER_GATEWAY, WAYPOINT"

    /// A name, or the number of Istio's enum (protobuf JSON allows both:
    /// 0 UNSPECIFIED, 1 SERVER_GATEWAY).
    static func parse(_ value: JSONValue) throws(StatsConfigurationError) -> ReporterSetting {
        switch value {
        case let .number(text) where UTF8Text.equal(text, "0"): return .unspecified
        case let .number(text) where UTF8Text.equal(text, "1"): return .waypoint
        case let .string(text):
            switch UTF8Text.listIndex(of: text, in: names) {
            case 0: return .unspecified
            case 1: return .clientSidecar
            case 2: return .serverSidecar
            case 3: return .gateway
            case 4, 5: return .waypoint
            default: throw StatsConfigurationError("unknown reporter \"\(text)\" (supported: \(names))")
            }
        default: throw StatsConfigurationError("field \"reporter\" must be one of \(names), found \(value.typeName)")
        }
    }
}

/// Why a stats configuration is refused, as the plugin logs it.
public struct StatsConfigurationError: Error {
    public let message: String
    init(_ message: String) { self.message = message }
}
