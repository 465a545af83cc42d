import ArgumentParser
import Foundation
import ProxyWasmHost
import ProxyWasmWasmKit

/// `validate`: a module checked as Envoy would load it.
public struct ValidateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a module as Envoy would load it: ABI version, imports, exports, signatures.")

    @Argument(help: "The .wasm module.") var module: String
    @Option(name: .long, help: FuelOption.help) var fuel: UInt64 = FuelOption.defaultFuel

    public init() {}

    public func run() throws {
        guard let data = FileManager.default.contents(atPath: module) else {
            printError("cannot read \(module)")
            throw ExitCode(2)
        }
        let vm = PluginVM(proxy: Proxy(name: "validate"), vmID: "validate")
        do {
            let guest = try WasmKitGuest.load([UInt8](data), into: vm, limits: GuestLimits(fuelPerCallback: fuel))
            print("\(module): loads in Envoy's ABI \(guest.report.abiVersion?.name ?? "?")")
            print(guest.report.summary)
        } catch let error as ModuleLoadError {
            print("\(module): would be refused by Envoy")
            print(error.report.summary)
            throw ExitCode(1)
        } catch let error as PluginStartError {
            print("\(module): start functions failed: \(error)")
            throw ExitCode(1)
        }
    }
}
