import Foundation

/// The subset of Go's text/template that Istio's expected-metric files use
/// (istio/proxy testdata/metric/*.tmpl): `{{ .Vars.X }}` and `{{ .Ports.X }}`
/// substitutions, and line-level `{{- if .Vars.X }}`, `{{- else if .Vars.Y }}`,
/// `{{- else }}` and `{{- end }}`, nested. A variable is true when it is set and
/// not empty, as in Go; an unset variable substitutes as the empty string.
/// This is the one renderer the tests use, the Envoy tests included
/// (through `istio-testdata render`).
public enum GoTemplate {
    /// One open `if`: whether its current branch is emitted, and whether any branch was.
    private struct Branch {
        var emitted: Bool
        var taken: Bool
    }

    public static func render(_ template: String, variables: [String: String]) -> String {
        var output: [String] = []
        var open: [Branch] = []
        func isSet(_ name: Substring) -> Bool { !(variables[String(name)] ?? "").isEmpty }
        for line in template.split(separator: "\n", omittingEmptySubsequences: false) {
            let action = Self.action(line)
            switch action {
            case .if(let name):
                open.append(Branch(emitted: isSet(name), taken: isSet(name)))
                continue
            case .elseIf(let name):
                guard var branch = open.popLast() else { break }
                let condition = !branch.taken && isSet(name)
                branch.emitted = condition
                branch.taken = branch.taken || condition
                open.append(branch)
                continue
            case .else:
                guard var branch = open.popLast() else { break }
                branch.emitted = !branch.taken
                branch.taken = true
                open.append(branch)
                continue
            case .end:
                guard open.popLast() != nil else { break }
                continue
            case .none:
                break
            }
            if open.allSatisfy(\.emitted) { output.append(substitute(line, variables)) }
        }
        return output.joined(separator: "\n")
    }

    private enum Action {
        case `if`(Substring)
        case elseIf(Substring)
        case `else`
        case end
        case none
    }

    /// The control action a whole line holds (`{{- if .Vars.X }}` and the rest), if any.
    private static func action(_ line: Substring) -> Action {
        var text = line.drop { $0 == " " || $0 == "\t" }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        guard text.hasPrefix("{{"), text.hasSuffix("}}") else { return .none }
        var inner = text.dropFirst(2).dropLast(2)
        if inner.hasPrefix("-") { inner = inner.dropFirst() }
        let words = inner.split(separator: " ")
        switch words.count {
        case 1 where words[0] == "else": return .else
        case 1 where words[0] == "end": return .end
        case 2 where words[0] == "if" && words[1].hasPrefix(".Vars."): return .if(words[1].dropFirst(6))
        case 3 where words[0] == "else" && words[1] == "if" && words[2].hasPrefix(".Vars."): return .elseIf(words[2].dropFirst(6))
        default: return .none
        }
    }

    /// Replaces every `{{ .Vars.X }}` and `{{ .Ports.X }}` in `line`.
    private static func substitute(_ line: Substring, _ variables: [String: String]) -> String {
        var result = ""
        var rest = line
        while let open = rest.range(of: "{{ .") {
            result += rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            guard let close = after.range(of: " }}") else { return result + rest[open.lowerBound...] }
            let reference = after[..<close.lowerBound]
            let name: Substring? =
                reference.hasPrefix("Vars.") ? reference.dropFirst(5) : reference.hasPrefix("Ports.") ? reference.dropFirst(6) : nil
            if let name, !name.contains(" ") {
                result += variables[String(name)] ?? ""
            } else {
                result += rest[open.lowerBound..<close.upperBound]
            }
            rest = after[close.upperBound...]
        }
        return result + rest
    }
}
