import Foundation
import ProxyWasmABISources

// `make abi-sources`: writes the sources generated from abi/HostFunctionTable.swift
// under the repository root given as the only argument (default: the current directory).
let root = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? FileManager.default.currentDirectoryPath)
for file in ABISources.files() {
    let url = root.appendingPathComponent(file.path)
    let existing = try? String(contentsOf: url, encoding: .utf8)
    guard existing != file.text else { continue }
    try file.text.write(to: url, atomically: true, encoding: .utf8)
    print("wrote \(file.path)")
}
