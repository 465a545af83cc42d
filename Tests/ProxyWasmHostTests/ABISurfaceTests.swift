import Foundation
import ProxyWasmABI
import ProxyWasmABISources
import Testing

@testable import ProxyWasmHost

/// `abi/HostFunctionTable.swift` is the one list of the ABI's host calls. The
/// SDK's raw imports and native twins, the native seam, the null VM's bridge
/// and the host's handler bindings are generated from it (`make abi-sources`);
/// these tests fail when a committed file is not what the table gives, and
/// check the generated imports against the table's wasm signatures.
@Suite("ABI surface: one table, checked everywhere")
struct ABISurfaceTests {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Host calls the table lists that the host deliberately leaves unlinked
    /// (a module importing one gets a link error naming it, as from an Envoy
    /// build without the extension).
    static let unhandled: Set<String> = ["envoy_resolve_dns"]

    static var currentEnvFunctions: [ABIFunction] {
        proxyHostFunctions.filter { $0.module == "env" && $0.isAvailable(in: .v0_2_1) }
    }

    @Test func generatedSourcesAreWhatTheTableGives() throws {
        let files = ABISources.files()
        #expect(files.count == 4)
        for file in files {
            let committed = try String(contentsOf: Self.root.appendingPathComponent(file.path), encoding: .utf8)
            #expect(committed == file.text, "\(file.path) is not what abi/HostFunctionTable.swift gives: run `make abi-sources`")
        }
    }

    /// Every proxy-wasm call is described by its arguments' meaning, so none is
    /// left out of the SDK or the native seam for want of a description.
    @Test func everyProxyCallHasItsArgumentsByMeaning() {
        for row in proxyHostFunctions where row.module == "env" && row.name.hasPrefix("proxy_") {
            #expect(row.parameters != nil, "\(row.name) has only a wasm signature")
        }
    }

    @Test func everyCurrentHostCallHasAHandlerAndEveryHandlerARow() {
        let names = Set(Self.currentEnvFunctions.map(\.name))
        let handled = Set(PluginVM.envHandlers.keys)
        #expect(names.subtracting(handled).subtracting(Self.unhandled).sorted() == [], "rows without a handler")
        let allRows = Set(proxyHostFunctions.filter { $0.module == "env" }.map(\.name))
        #expect(handled.subtracting(allRows).sorted() == [], "handlers without a row")
    }

    /// One declaration in RawImports.swift: its name and Swift parameter and result types.
    struct Declaration: Equatable {
        var name: String
        var parameters: [String]
        var result: String
    }

    /// The `func proxy_…(…) -> …` declarations of one branch of RawImports.swift.
    static func declarations(in text: Substring) -> [Declaration] {
        var result: [Declaration] = []
        var rest = text[...]
        while let start = rest.range(of: "func ") {
            let afterFunc = rest[start.upperBound...]
            guard let open = afterFunc.firstIndex(of: "(") else { break }
            let name = String(afterFunc[..<open])
            var depth = 0
            var index = open
            var close = open
            while index < afterFunc.endIndex {
                let character = afterFunc[index]
                if character == "(" { depth += 1 }
                if character == ")" {
                    depth -= 1
                    if depth == 0 {
                        close = index
                        break
                    }
                }
                index = afterFunc.index(after: index)
            }
            let parameterText = afterFunc[afterFunc.index(after: open)..<close]
            let parameters = splitTopLevel(parameterText).map { parameter -> String in
                let type = parameter.split(separator: ":", maxSplits: 1).last.map(String.init) ?? ""
                return type.trimmingCharacters(in: .whitespacesAndNewlines)
            }.filter { !$0.isEmpty }
            let tail = afterFunc[afterFunc.index(after: close)...]
            var resultType = ""
            if let arrow = tail.range(of: "->"), tail[..<arrow.lowerBound].allSatisfy({ $0 == " " }) {
                resultType = String(tail[arrow.upperBound...].prefix { $0 != "{" && $0 != "\n" }).trimmingCharacters(in: .whitespaces)
            }
            if name.hasPrefix("proxy_") { result.append(Declaration(name: name, parameters: parameters, result: resultType)) }
            rest = afterFunc[close...]
        }
        return result
    }

    static func splitTopLevel(_ text: Substring) -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "<" || character == "(" { depth += 1 }
            if character == ">" || character == ")" { depth -= 1 }
            if character == "," && depth == 0 {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        parts.append(text[start...])
        return parts
    }

    /// The wasm type a Swift parameter of the raw imports lowers to on wasm32.
    static func wasmType(_ swiftType: String) -> WasmValueType? {
        if swiftType.hasPrefix("Unsafe") { return .i32 }
        switch swiftType {
        case "Int", "UInt", "Int32", "UInt32": return .i32
        case "Int64", "UInt64": return .i64
        default: return nil
        }
    }

    static func rawImports() throws -> (wasm32: [Declaration], native: [Declaration]) {
        let text = try String(contentsOf: root.appendingPathComponent("Plugins/ProxyWasm/RawImports.swift"), encoding: .utf8)
        let wasmStart = try #require(text.range(of: "#if arch(wasm32)"))
        let elseMarker = try #require(text.range(of: "\n#else\n"))
        let end = try #require(text.range(of: "\n#endif", options: .backwards))
        return (
            declarations(in: text[wasmStart.upperBound..<elseMarker.lowerBound]),
            declarations(in: text[elseMarker.upperBound..<end.lowerBound])
        )
    }

    @Test func theSDKsImportsAreTableRowsWithTheirWasmSignatures() throws {
        let (imports, _) = try Self.rawImports()
        #expect(imports.count >= 30, "the parser found the SDK's imports")
        let rows = Dictionary(uniqueKeysWithValues: proxyHostFunctions.filter { $0.module == "env" }.map { ($0.name, $0) })
        for declaration in imports {
            guard let row = rows[declaration.name] else {
                Issue.record("\(declaration.name) is imported by the SDK but not in abi/HostFunctionTable.swift")
                continue
            }
            #expect(row.isAvailable(in: .v0_2_1), "\(declaration.name) is gone from ABI 0.2.1")
            let parameters = declaration.parameters.map { Self.wasmType($0) }
            #expect(!parameters.contains(nil), "\(declaration.name): a parameter type without a wasm lowering: \(declaration.parameters)")
            let signature = WasmSignature(parameters.compactMap { $0 }, declaration.result.isEmpty ? [] : [Self.wasmType(declaration.result) ?? .i32])
            #expect(signature == row.signature, "\(declaration.name): SDK \(signature.description), table \(row.signature.description)")
        }
    }

    @Test func theNativeForwardingDeclaresEveryImportWithTheSameSignature() throws {
        let (imports, native) = try Self.rawImports()
        #expect(native.map(\.name) == imports.map(\.name), "the two branches list the same functions in the same order")
        for (wasm, twin) in zip(imports, native) where wasm.name == twin.name {
            #expect(wasm == twin, "\(wasm.name): wasm32 \(wasm.parameters) -> \(wasm.result), native \(twin.parameters) -> \(twin.result)")
        }
    }
}
