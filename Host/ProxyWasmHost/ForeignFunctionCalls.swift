import ProxyWasmABI

// Foreign functions: the host's named extensions (declare_property, CEL helpers).

extension PluginVM {
    // MARK: foreign functions

    func proxyCallForeignFunction(
        _ namePointer: UInt32, _ nameSize: UInt32, _ argumentsPointer: UInt32,
        _ argumentsSize: UInt32, _ resultSlot: UInt32, _ sizeSlot: UInt32
    ) throws -> UInt32 {
        let name = "proxy_call_foreign_function"
        guard let functionName = slice(namePointer, nameSize) else { return finish(name, .invalidMemoryAccess) }
        guard let arguments = slice(argumentsPointer, argumentsSize) else { return finish(name, .invalidMemoryAccess) }
        let text = String(decoding: functionName, as: UTF8.self)
        guard let function = foreignFunctions[text] else { return finish(name, .notFound, args: ["function": text]) }
        let (status, result) = function(self, arguments)
        if resultSlot != 0 && !result.isEmpty {
            let copied = try copyOut(result, resultSlot, sizeSlot == 0 ? resultSlot : sizeSlot)
            if copied != .ok { return finish(name, copied, args: ["function": text]) }
        } else {
            if resultSlot != 0 && memory?.writeUInt32(resultSlot, 0) != true { return finish(name, .invalidMemoryAccess) }
            if sizeSlot != 0 && memory?.writeUInt32(sizeSlot, UInt32(resultSlot == 0 ? 0 : result.count)) != true {
                return finish(name, .invalidMemoryAccess)
            }
        }
        return finish(name, status, args: ["function": text, "arguments": PluginVM.display(arguments)])
    }
}

/// A host-provided foreign function: (vm, arguments) -> (status, result bytes).
public typealias ForeignFunction = (PluginVM, [UInt8]) -> (WasmResult, [UInt8])
