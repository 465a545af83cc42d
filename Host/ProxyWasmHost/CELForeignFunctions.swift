import ProxyWasmABI
import TelemetryCore

/// Envoy's CEL foreign functions, as Envoy 1.40 answers them (measured with
/// Tests/Fixtures/wat/cel_probe.wat, `test_cel_foreign_functions.py`):
/// - `expr_create(text)`: Ok and a 4-byte little-endian token (0, 1, 2, ...
///   per VM); BadArgument for text that does not parse.
/// - `expr_evaluate(token)`: Ok and the value in `proxy_get_property`'s
///   encoding (string bytes, 8-byte integers, 1-byte booleans, maps as
///   pairs); InternalFailure when evaluation fails (a missing attribute,
///   division by zero); NotFound for an unknown token.
/// - `expr_delete(token)`: Ok (NotFound for an unknown token).
/// The language is the project's CEL subset (`TelemetryCore.Expression`),
/// over the same attribute tree `proxy_get_property` reads; an expression
/// naming a function outside it is refused at creation, where Envoy would
/// fail at evaluation.
extension PluginVM {
    func registerCELForeignFunctions() {
        registerForeignFunction("expr_create") { vm, arguments in vm.createExpression(arguments) }
        registerForeignFunction("expr_evaluate") { vm, arguments in vm.evaluateExpression(arguments) }
        registerForeignFunction("expr_delete") { vm, arguments in
            guard let token = Self.token(arguments), vm.expressions.remove(token) else { return (.notFound, []) }
            return (.ok, [])
        }
    }

    static func token(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == 4 else { return nil }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    func createExpression(_ text: [UInt8]) -> (WasmResult, [UInt8]) {
        guard let expression = try? Expression.parse(String(decoding: text, as: UTF8.self)) else { return (.badArgument, []) }
        let token = expressions.insert(expression)
        return (.ok, [UInt8(token & 0xFF), UInt8(token >> 8 & 0xFF), UInt8(token >> 16 & 0xFF), UInt8(token >> 24)])
    }

    func evaluateExpression(_ arguments: [UInt8]) -> (WasmResult, [UInt8]) {
        guard let token = Self.token(arguments), let expression = expressions.expression(token) else { return (.notFound, []) }
        guard let value = expression.evaluate(CELAttributes(vm: self)) else { return (.internalFailure, []) }
        return (.ok, Self.propertyNode(value).serialized)
    }

    /// An expression value in `proxy_get_property`'s encoding.
    static func propertyNode(_ value: ExpressionValue) -> PropertyNode {
        switch value {
        case let .string(text): return .string(text)
        case let .int(number): return .int(number)
        case let .bool(flag): return .bool(flag)
        case let .map(entries): return .map(entries.map { PropertyEntry($0.key, propertyNode($0.value)) })
        case let .list(items): return .list(items.map(propertyNode))
        }
    }
}

/// The attribute tree of the active context, as expressions see it.
final class CELAttributes: ExpressionEnvironment {
    let vm: PluginVM

    init(vm: PluginVM) { self.vm = vm }

    func resolve(_ path: [String]) -> ExpressionValue? {
        vm.propertyValue(path).flatMap(Self.value)
    }

    static func value(_ node: PropertyNode) -> ExpressionValue? {
        switch node {
        case let .string(text): return .string(text)
        case let .bytes(bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case let .int(number), let .timestamp(number), let .duration(number): return .int(number)
        case let .uint(number): return number <= UInt64(Int64.max) ? .int(Int64(number)) : nil
        case let .bool(flag): return .bool(flag)
        case .double: return nil
        case let .map(entries), let .message(_, entries):
            var converted: [(key: String, value: ExpressionValue)] = []
            for entry in entries {
                guard let value = value(entry.value) else { continue }
                converted.append((key: entry.key, value: value))
            }
            return .map(converted)
        case let .list(items): return .list(items.compactMap(value))
        }
    }
}
