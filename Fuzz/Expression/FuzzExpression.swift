// libFuzzer target: a dimension or definition expression from a stats
// configuration, parsed and evaluated against attributes of every kind.
import TelemetryCore

final class Attributes: ExpressionEnvironment {
    func resolve(_ path: [String]) -> ExpressionValue? {
        switch path.count % 5 {
        case 0: return .string(path.joined(separator: "."))
        case 1: return .int(Int64(path.count))
        case 2: return .bool(path.count % 2 == 0)
        case 3: return .map([(key: "key", value: .string("k")), (key: "value", value: .string(String(repeating: "v", count: 4096)))])
        default: return nil
        }
    }
}

nonisolated(unsafe) let attributes = Attributes()  // libFuzzer calls the target from one thread

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let expression = try? Expression.parse(text) { _ = expression.evaluate(attributes)?.labelText }
    return 0
}
