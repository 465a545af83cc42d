import Foundation
import ProxyWasmABI

/// Envoy's tag extraction: every rule is matched against the full stat name
/// in order; the characters of each rule's first capture are removed from the
/// name, its value capture becomes a tag.
public struct TagExtractor {
    struct Compiled {
        let name: String
        let regex: Regex<AnyRegexOutput>
    }

    let rules: [Compiled]

    public init(_ rules: [StatsTagRule]) throws {
        var compiled: [Compiled] = []
        for rule in rules {
            do {
                // Scalar semantics: Envoy's regex engines see bytes, not
                // grapheme clusters (a combining mark after `=` must not hide it).
                compiled.append(Compiled(name: rule.name, regex: try Regex(rule.pattern).matchingSemantics(.unicodeScalar)))
            } catch {
                throw StatsTagError(tag: rule.name, pattern: rule.pattern, reason: "\(error)")
            }
        }
        self.rules = compiled
    }

    /// The tag-extracted name and the tags, in rule order.
    public func extract(_ name: String) -> (name: String, tags: [(String, String)]) {
        var tags: [(String, String)] = []
        var removed: [Range<String.Index>] = []
        var taken: Set<String> = []
        for rule in rules where !taken.contains(rule.name) {
            guard let match = name.firstMatch(of: rule.regex), match.output.count >= 2,
                let cut = match.output[1].range
            else { continue }
            let valueIndex = match.output.count >= 3 ? 2 : 1
            let value = match.output[valueIndex].substring.map(String.init) ?? ""
            tags.append((rule.name, value))
            taken.insert(rule.name)
            removed.append(cut)
        }
        if removed.isEmpty { return (name, tags) }
        var result = String.UnicodeScalarView()
        var index = name.unicodeScalars.startIndex
        while index < name.unicodeScalars.endIndex {
            if !removed.contains(where: { $0.contains(index) }) { result.append(name.unicodeScalars[index]) }
            index = name.unicodeScalars.index(after: index)
        }
        return (String(result), tags)
    }
}
