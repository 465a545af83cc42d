import Foundation
import ProxyWasmABI

/// One `stats_config.stats_tags` entry: the first capture group is cut out of
/// the stat name, the second (or the first, if there is one) is the label value.
public struct StatsTagRule: Sendable, Equatable {
    public let name: String
    public let pattern: String

    public init(name: String, pattern: String) {
        self.name = name
        self.pattern = pattern
    }
}

/// A `stats_tags` regex that does not compile.
public struct StatsTagError: Error, CustomStringConvertible {
    public let tag: String
    public let pattern: String
    public let reason: String
    public var description: String { "stats_tags entry \(tag): invalid regex \(pattern): \(reason)" }
}
