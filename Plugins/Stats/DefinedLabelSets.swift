import ProxyWasm
import TelemetryCore

/// The metrics defined under one label set (one encoded stat-name prefix),
/// one slot per configured metric, and when a report last used them.
final class DefinedLabelSet {
    /// The encoded tags every metric of this label set is named with.
    let prefix: StatNameKey
    var metrics: [Metric?]
    /// The tick count (`DefinedLabelSets.tick`) of the last report that used this label set.
    var lastUsedTick: UInt32
    /// The overflow label set: not counted against `max_label_sets`.
    let isOverflow: Bool
    /// Set once the label set expired: caches that still point here drop it.
    private(set) var isExpired = false

    init(prefix: StatNameKey, metricCount: Int, tick: UInt32, isOverflow: Bool) {
        self.prefix = prefix
        metrics = [Metric?](repeating: nil, count: metricCount)
        lastUsedTick = tick
        self.isOverflow = isOverflow
    }

    func expire() { isExpired = true }
}

/// Every label set the plugin defined metrics for, by stat-name prefix.
/// Envoy hands out a new id per define, so each full name is defined once
/// while its label set lives. Bounded by `max_label_sets` (past it, new label
/// sets fold into the overflow series); with `metric_expiry_duration` a label
/// set no report used for that long is forgotten on a tick, which frees its
/// place under the bound and the plugin's memory for it.
final class DefinedLabelSets {
    private var sets: [StatNameKey: DefinedLabelSet] = [:]
    /// Label sets other than the overflow ones.
    private(set) var boundedCount = 0
    /// Ticks seen so far: the clock label sets are aged by (no host call per report).
    private(set) var tick: UInt32 = 0

    var count: Int { sets.count }

    func removeAll() {
        sets.removeAll()
        boundedCount = 0
    }

    func contains(_ prefix: StatNameKey) -> Bool { sets[prefix] != nil }

    /// The label set for `prefix`, created if new (and counted unless it is the overflow one).
    func labelSet(_ prefix: StatNameKey, metricCount: Int, isOverflow: Bool) -> DefinedLabelSet {
        if let known = sets[prefix] { return known }
        let created = DefinedLabelSet(prefix: prefix, metricCount: metricCount, tick: tick, isOverflow: isOverflow)
        sets[prefix] = created
        if !isOverflow { boundedCount += 1 }
        return created
    }

    /// Counts one tick.
    func advance() { tick &+= 1 }

    /// Forgets the label sets no report used for more than `idleTicks` whole
    /// ticks; returns how many. A report during the tick period right after
    /// `lastUsedTick` keeps it, so a label set is never forgotten before it
    /// has been idle for `idleTicks` full periods.
    func expire(idleTicks: UInt32) -> Int {
        var idle: [StatNameKey] = []
        for (prefix, set) in sets where tick &- set.lastUsedTick > idleTicks { idle.append(prefix) }
        for prefix in idle {
            guard let set = sets.removeValue(forKey: prefix) else { continue }
            set.expire()
            if !set.isOverflow { boundedCount -= 1 }
        }
        return idle.count
    }
}
