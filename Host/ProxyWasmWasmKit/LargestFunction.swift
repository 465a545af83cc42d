import WasmParser

/// A module's largest function body, by its encoded instructions.
///
/// Envoy's V8 compiles every function with its optimising compiler before the
/// first request, and the memory that compiler needs grows with the function it
/// compiles: the largest function sets the peak, and Envoy's allocator keeps
/// that peak for the life of the process. So this figure, not the module's
/// size, is what a plugin's resident memory in Envoy follows.
public struct LargestFunction: Sendable, Equatable {
    /// The function's index in the module's function index space (imports first).
    public let index: Int
    /// Bytes of its instructions (the locals' declarations excluded).
    public let bytes: Int

    public init(index: Int, bytes: Int) {
        self.index = index
        self.bytes = bytes
    }

    /// The largest function defined in `module` (the first of equals), or nil
    /// for a module that defines none. Throws what the parser finds malformed.
    public static func of(_ module: [UInt8]) throws(WasmParserError) -> LargestFunction? {
        var parser = Parser(bytes: module)
        var importedFunctions = 0
        var largest: LargestFunction?
        while let payload = try parser.parseNext() {
            switch payload {
            case let .importSection(imports):
                importedFunctions = imports.count { if case .function = $0.descriptor { true } else { false } }
            case let .codeSection(bodies):
                for (position, body) in bodies.enumerated() where body.expression.count > (largest?.bytes ?? -1) {
                    largest = LargestFunction(index: importedFunctions + position, bytes: body.expression.count)
                }
            default:
                continue
            }
        }
        return largest
    }
}
