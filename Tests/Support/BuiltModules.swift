import Foundation
import ProxyWasmTestFixtures

/// The modules `make wasm` built: `$WASM_DIR`, else the repository's build/wasm.
public enum BuiltModules {
    public static var directory: URL {
        if let explicit = ProcessInfo.processInfo.environment["WASM_DIR"] { return URL(fileURLWithPath: explicit) }
        return FixtureFiles.repository.appendingPathComponent("build/wasm")
    }

    /// The bytes of `name`.wasm.
    public static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name + ".wasm")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModuleMissing(path: url.path)
        }
        return [UInt8](data)
    }

    /// A module that was not built.
    public struct ModuleMissing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is missing: run `make wasm` (make test does it first)" }
    }
}
