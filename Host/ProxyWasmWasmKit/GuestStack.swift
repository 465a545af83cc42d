import WasmKit

/// One WasmKit execution stack, boxed so a guest can keep it between calls
/// (`ExecutionStack` is non-copyable, so it cannot sit in an array itself).
final class GuestStack {
    var stack: ExecutionStack

    init(engine: Engine) { stack = ExecutionStack(engine: engine) }
}
