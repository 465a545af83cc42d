import ProxyWasmABI

// Trace recording shared by every host call: record the call (and tally NotFound answers), and
// describe guest and peer bytes for the trace.

extension PluginVM {
    /// Records a host call and returns its status as the raw result. The arguments and the result
    /// are described only when a trace or the NotFound tally needs them: a host call without
    /// tracing should cost no strings.
    func finish(
        _ name: String, _ status: WasmResult, args: @autoclosure () -> [String: String] = [:],
        result: @autoclosure () -> String? = nil
    ) -> UInt32 {
        let tallied = status == .notFound || status == .unimplemented
        guard trace.isEnabled || tallied else { return status.rawValue }
        let described = args()
        if trace.isEnabled {
            trace.record(
                .hostcall, context: activeContext?.id ?? frame.currentContextID, name: name, args: described,
                result: result(), status: status.name)
        }
        if tallied { answers.record(status: status.name, call: Self.describe(name, described)) }
        return status.rawValue
    }

    /// A call and what it named, for `answers`: the argument that tells calls apart.
    static func describe(_ name: String, _ args: [String: String]) -> String {
        for key in ["path", "function", "key", "name", "type", "map"] {
            if let value = args[key] { return "\(name) \(value.count > 80 ? String(value.prefix(80)) + "..." : value)" }
        }
        return name
    }

    /// Records a call this host does not implement and answers Envoy's status.
    func unimplemented(_ name: String, _ status: WasmResult) -> UInt32 {
        unimplementedCalls.append(name)
        answers.record(status: "Unimplemented by this host", call: name)
        return finish(name, status, args: ["unimplemented": "true"])
    }

    /// Guest or peer bytes for a trace: escaped, at most `TraceText.recordedBytes`.
    static func display(_ bytes: [UInt8]) -> String { TraceText.bytes(bytes) }

    /// A filter-state value as a trace shows it: one declared as FlatBuffers
    /// decoded by its schema (`flatbuffers Wasm.Common.FlatNode {NAME: ..., ...}`),
    /// anything else (or a buffer the schema cannot read) as bytes.
    static func displayFilterState(_ value: [UInt8], declaration: DeclaredProperty?) -> String {
        guard let declaration, declaration.type == .flatBuffers, let reflection = FlatBuffersReflection(schema: declaration.schema),
            let document = reflection.document(in: value)
        else { return display(value) }
        return "flatbuffers \(reflection.rootName) \(TraceText.value(document))"
    }

    static func displayPairs(_ pairs: [HeaderPair]) -> String {
        "{" + pairs.map { "\(TraceText.bytes($0.key)): \(TraceText.bytes($0.value))" }.joined(separator: ", ") + "}"
    }
}
