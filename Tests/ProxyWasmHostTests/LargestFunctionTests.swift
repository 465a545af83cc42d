import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

/// `LargestFunction`: the function that sets a module's compile-memory peak in
/// Envoy, as `validate` reports it and the budgets check it.
@Suite("Largest function")
struct LargestFunctionTests {
    @Test func findsTheLargestBodyCountingImportsInTheIndex() throws {
        let module = try wasm(
            """
            (module
              (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
              (func (result i32) i32.const 1)
              (func (result i32) i32.const 1 i32.const 2 i32.add i32.const 3 i32.add)
              (func (result i32) (local i32 i32 i32) i32.const 1 i32.const 2 i32.add))
            """)
        // Instructions with their `end`: 3 bytes, 9, then 6 (the locals do not count).
        #expect(try LargestFunction.of(module) == LargestFunction(index: 2, bytes: 9))
    }

    @Test func aModuleWithoutFunctionsHasNone() throws {
        #expect(try LargestFunction.of(try wasm("(module (memory 1))")) == nil)
    }

    @Test func validateReportsIt() throws {
        let (report, _) = ModuleValidator.inspect(try wasm("(module (func nop nop))"))
        #expect(report.largestFunction == LargestFunction(index: 0, bytes: 3))
        #expect(report.summary.contains("largest function: #0, 3 bytes of instructions"))
    }

    @Test func malformedCodeIsAnErrorNotATrap() throws {
        var module = try wasm("(module (func nop))")
        module.removeLast(2)
        #expect(throws: (any Error).self) { try LargestFunction.of(module) }
    }
}
