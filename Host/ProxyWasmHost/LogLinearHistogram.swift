/// Envoy's histogram arithmetic (Circonus log-linear histograms): every
/// recorded value falls into a bin of two significant decimal digits, and the
/// Prometheus buckets and `_sum` are computed from bins, not from the values.
/// Measured against Envoy 1.40 (Tests/Envoy/test_prometheus_parity.py):
/// - a bin counts under every bucket bound at or above its lower edge, so a
///   1004 ms sample (bin [1000, 1100)) is counted under `le="1000"`;
/// - `_sum` adds, in bin order, each bin's harmonic mean of its edges times
///   its count (a 7 ms sample adds 994/141 = 7.0496...).
struct LogLinearHistogram {
    /// A bin: `digits` are the two significant digits (10...99; 0 for the
    /// zero bin); its edges are `digits * 10^(exponent-1)` and `(digits+1) * 10^(exponent-1)`.
    struct Bin: Hashable, Comparable {
        let digits: Int
        let exponent: Int
        /// `digits / 10 * 10^exponent`, with the library's floating-point steps.
        let lowerEdge: Double

        /// The bin Envoy puts an integer sample in (`int_scale_to_hist_bucket`, scale 0).
        init(_ sample: UInt64) {
            guard sample > 0 else {
                digits = 0
                exponent = 0
                lowerEdge = 0
                return
            }
            var value = sample
            var scale = 1
            if value < 10 {
                value *= 10
                scale -= 1
            }
            while value >= 100 {
                value /= 10
                scale += 1
            }
            digits = Int(value)
            exponent = scale
            lowerEdge = (Double(digits) / 10.0) * Self.powerOfTen(exponent)
        }

        static func == (lhs: Bin, rhs: Bin) -> Bool { lhs.digits == rhs.digits && lhs.exponent == rhs.exponent }

        func hash(into hasher: inout Hasher) {
            hasher.combine(digits)
            hasher.combine(exponent)
        }

        static func < (lhs: Bin, rhs: Bin) -> Bool {
            if lhs.digits == 0 || rhs.digits == 0 { return lhs.digits == 0 && rhs.digits != 0 }
            return (lhs.exponent, lhs.digits) < (rhs.exponent, rhs.digits)
        }

        /// The harmonic mean of the edges, 2d(d+1)/(2d+1) * 10^(exponent-1),
        /// correctly rounded as Envoy prints it: one IEEE division of exact
        /// integers whenever they fit in 53 bits (every sample below 10^11).
        var representative: Double {
            guard digits > 0 else { return 0 }
            let numerator = UInt64(2 * digits * (digits + 1))
            let denominator = UInt64(2 * digits + 1)
            let scale = exponent - 1
            if scale < 0 { return Double(numerator) / (Double(denominator) * 10) }
            var scaled = numerator
            for _ in 0..<scale {
                let (next, overflow) = scaled.multipliedReportingOverflow(by: 10)
                guard !overflow, next < 1 << 53 else {
                    let lower = lowerEdge
                    let upper = lower + Self.powerOfTen(exponent) / 10.0
                    return 2 * lower * upper / (lower + upper)
                }
                scaled = next
            }
            return Double(scaled) / Double(denominator)
        }

        /// Parsing "1eN" gives the same doubles as the library's table of decimal literals.
        static func powerOfTen(_ exponent: Int) -> Double { Double("1e\(exponent)") ?? .infinity }
    }

    /// Sample counts per bin, in bin order.
    let bins: [(bin: Bin, count: UInt64)]

    init(samples: [UInt64]) {
        var counts: [Bin: UInt64] = [:]
        for sample in samples { counts[Bin(sample), default: 0] += 1 }
        bins = counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    var count: UInt64 { bins.reduce(0) { $0 + $1.count } }

    /// Samples Envoy counts under the bucket bound `threshold`.
    func count(atOrBelow threshold: Double) -> UInt64 {
        var running: UInt64 = 0
        for (bin, count) in bins {
            guard bin.lowerEdge <= threshold else { break }
            running += count
        }
        return running
    }

    /// Envoy's `_sum`: representatives times counts, added in bin order.
    var sum: Double {
        var total = 0.0
        for (bin, count) in bins { total += bin.representative * Double(count) }
        return total
    }
}
