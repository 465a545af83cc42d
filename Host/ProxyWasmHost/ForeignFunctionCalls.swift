import ProxyWasmABI

// Foreign functions: the host's named extensions (declare_property, CEL helpers).

extension PluginVM {
    // MARK: foreign functions

    func proxyCallForeignFunction(name functionName: [UInt8], arguments: [UInt8], result output: BytesOutput) throws -> UInt32 {
        let name = "proxy_call_foreign_function"
        let text = String(decoding: functionName, as: UTF8.self)
        guard let function = foreignFunctions[text] else { return finish(name, .notFound, args: ["function": text]) }
        let (status, result) = function(self, arguments)
        // Envoy lets a caller pass null slots: a null result slot asks for nothing, and a null size
        // slot shares the result slot.
        let resultSlot = output.pointerSlot
        let sizeSlot = output.sizeSlot
        if resultSlot != 0 && !result.isEmpty {
            let copied = try copyOut(result, to: BytesOutput(resultSlot, sizeSlot == 0 ? resultSlot : sizeSlot))
            if copied != .ok { return finish(name, copied, args: ["function": text]) }
        } else {
            if resultSlot != 0 && !store(0, in: WordOutput(resultSlot)) { return finish(name, .invalidMemoryAccess) }
            if sizeSlot != 0 && !store(UInt32(resultSlot == 0 ? 0 : result.count), in: WordOutput(sizeSlot)) {
                return finish(name, .invalidMemoryAccess)
            }
        }
        return finish(name, status, args: ["function": text, "arguments": PluginVM.display(arguments)])
    }
}

/// A host-provided foreign function: (vm, arguments) -> (status, result bytes).
public typealias ForeignFunction = (PluginVM, [UInt8]) -> (WasmResult, [UInt8])
