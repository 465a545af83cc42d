import ProxyWasmABI
@_spi(OnlyForCLI) import WasmKit
import WasmParser

/// What a module declares, and every reason Envoy would refuse it.
public struct ModuleReport: Sendable {
    public struct ImportEntry: Sendable, Equatable {
        public let module: String
        public let name: String
        /// `func i32 i32 -> i32`, `memory`, `table`, `global`.
        public let kind: String
    }

    public struct ExportEntry: Sendable, Equatable {
        public let name: String
        public let kind: String
    }

    public var abiVersion: ABIVersion?
    public var imports: [ImportEntry] = []
    public var exports: [ExportEntry] = []
    /// What sets the module's compile-memory peak in Envoy (nil: it defines no function),
    /// measured when asked: only `validate` prints it, while every load makes a report.
    public var largestFunction: LargestFunction? { try? LargestFunction.of(moduleBytes) }
    /// The module inspected (shared with the caller's array, not copied).
    var moduleBytes: [UInt8] = []
    /// Empty when Envoy would load the module.
    public var problems: [String] = []

    public var isValid: Bool { problems.isEmpty }

    /// A short human-readable summary.
    public var summary: String {
        var lines: [String] = []
        lines.append("ABI version: \(abiVersion?.name ?? "none")")
        lines.append("imports (\(imports.count)):")
        for entry in imports { lines.append("  \(entry.module).\(entry.name): \(entry.kind)") }
        lines.append("exports (\(exports.count)):")
        for entry in exports { lines.append("  \(entry.name): \(entry.kind)") }
        if let largestFunction {
            lines.append("largest function: #\(largestFunction.index), \(largestFunction.bytes) bytes of instructions")
        }
        if !problems.isEmpty {
            lines.append("problems (\(problems.count)):")
            for problem in problems { lines.append("  \(problem)") }
        }
        return lines.joined(separator: "\n")
    }
}

/// Checks a module the way proxy-wasm-cpp-host (V8) does before running it:
/// ABI version from the first marker export, every import provided by Envoy
/// with the same signature, a memory, an allocator, and exact signatures on
/// every callback it exports.
public enum ModuleValidator {
    static func signature(_ type: FunctionType) -> String {
        let params = type.parameters.map { "\($0)" }.joined(separator: " ")
        let results = type.results.map { "\($0)" }.joined(separator: " ")
        return (params.isEmpty ? "" : params + " ") + "->" + (results.isEmpty ? "" : " " + results)
    }

    static func valueTypes(_ types: [WasmValueType]) -> [ValueType] { types.map { $0 == .i32 ? .i32 : .i64 } }

    /// Parses and inspects `bytes`; never throws: a parse failure is a problem in the report.
    public static func inspect(_ bytes: [UInt8]) -> (ModuleReport, Module?) {
        var report = ModuleReport()
        let module: Module
        do {
            module = try parseWasm(bytes: bytes)
        } catch {
            report.problems.append("not a valid WebAssembly module: \(error)")
            return (report, nil)
        }
        report.moduleBytes = bytes
        for export in module.exports {
            if let version = ABIVersion(markerExport: export.name), report.abiVersion == nil { report.abiVersion = version }
            let kind: String
            switch export.descriptor {
            case .function: kind = "func"
            case .memory: kind = "memory"
            case .table: kind = "table"
            case .global: kind = "global"
            case .tag: kind = "tag"
            }
            report.exports.append(.init(name: export.name, kind: kind))
        }
        if report.abiVersion == nil {
            report.problems.append("Missing or unknown Proxy-Wasm ABI version (export one of proxy_abi_version_0_1_0, _0_2_0, _0_2_1)")
        }
        let version = report.abiVersion ?? .v0_2_1
        let provided = hostFunctions(for: version)
        var hasImportedMemory = false
        for entry in module.imports {
            switch entry.descriptor {
            case let .function(typeIndex):
                let type = module.functionType(at: typeIndex)
                let shown = type.map(signature) ?? "?"
                report.imports.append(.init(module: entry.module, name: entry.name, kind: "func " + shown))
                guard let row = provided.first(where: { $0.module == entry.module && $0.name == entry.name }) else {
                    report.problems.append(
                        "missing import: \(entry.module).\(entry.name) (\(shown)) is not provided by Envoy for ABI \(version.name)")
                    continue
                }
                let want = FunctionType(parameters: valueTypes(row.signature.parameters), results: valueTypes(row.signature.results))
                if let type, type != want {
                    report.problems.append(
                        "import type mismatch: \(entry.module).\(entry.name), want: \(shown), but host exports: \(signature(want))")
                }
            case .memory:
                hasImportedMemory = true
                report.imports.append(.init(module: entry.module, name: entry.name, kind: "memory"))
            case .table:
                report.imports.append(.init(module: entry.module, name: entry.name, kind: "table"))
            case .global:
                report.imports.append(.init(module: entry.module, name: entry.name, kind: "global"))
                report.problems.append("imported global \(entry.module).\(entry.name) is not supported by Envoy (V8)")
            case .tag:
                report.imports.append(.init(module: entry.module, name: entry.name, kind: "tag"))
                report.problems.append("imported tag \(entry.module).\(entry.name) is not supported")
            }
        }
        if !hasImportedMemory && !report.exports.contains(where: { $0.kind == "memory" }) {
            report.problems.append("the module neither exports nor imports a memory")
        }
        if !report.exports.contains(where: { $0.name == "malloc" || $0.name == "proxy_on_memory_allocate" }) {
            report.problems.append("Wasm module is missing malloc function (export malloc or proxy_on_memory_allocate)")
        }
        return (report, module)
    }

    /// Checks the signatures of exported callbacks (needs an instance to read
    /// export types); appends problems to `report`.
    static func checkExports(_ instance: Instance, version: ABIVersion, into report: inout ModuleReport) {
        for row in proxyCallbacks where row.isAvailable(in: version) {
            guard let function = instance.exports[function: row.name] else { continue }
            let want = FunctionType(parameters: valueTypes(row.signature.parameters), results: valueTypes(row.signature.results))
            if function.type != want {
                report.problems.append(
                    "Bad function signature for: \(row.name), want: \(signature(want)), but the module exports: \(signature(function.type))")
            }
        }
    }
}
