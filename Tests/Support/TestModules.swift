import Foundation
import WAT

/// Assembles WAT text into a module.
public func wasm(_ text: String) throws -> [UInt8] { try wat2wasm(text) }

/// Writes module bytes to a fresh temporary `.wasm` file (for scenarios and
/// the CLI) and returns its path; the caller removes it.
public func temporaryModuleFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "/module-\(UUID().uuidString).wasm"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}
