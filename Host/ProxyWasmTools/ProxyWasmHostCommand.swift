import ArgumentParser
import Foundation
import ProxyWasmABI

/// `proxy-wasm-host`: validate modules like Envoy, run scenarios, read traces.
public struct ProxyWasmHostCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "proxy-wasm-host",
        abstract: "Run proxy-wasm modules in-process, the way Envoy runs them.",
        version: "proxy-wasm-host \(ProjectVersion.text)",
        subcommands: [ValidateCommand.self, RunCommand.self, TraceCommand.self, EnvoyConfigCommand.self])

    public init() {}
}

/// The `--fuel` option of `run` and `validate`.
enum FuelOption {
    /// 20M wasm operators: 20-60x what the project's plugins need in their
    /// costliest callback, and a runaway guest stops in about 5 s in a debug
    /// build (well under 1 s in release).
    static let defaultFuel: UInt64 = 20_000_000
    static let help = ArgumentHelp("Wasm operators one callback (or a start function) may run before it is stopped as a runaway.")
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
