import Foundation
import ProxyWasmTestSupport

// `istio-testdata expected-series FILE [NAME=VALUE ...]`: the expected series of
// one of Istio's metric files (Tests/Fixtures/istio/proxy-1.12.0/metric/FILE),
// rendered with the variables given, one `name{labels} value` line each. The
// Envoy tests take their expectations from here, so they and the Swift tests
// render Istio's templates with the same code (`GoTemplate`).
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2, arguments[0] == "expected-series" else {
    FileHandle.standardError.write(Data("usage: istio-testdata expected-series FILE [NAME=VALUE ...]\n".utf8))
    exit(2)
}
var variables: [String: String] = [:]
for assignment in arguments.dropFirst(2) {
    guard let equals = assignment.firstIndex(of: "=") else {
        FileHandle.standardError.write(Data("not NAME=VALUE: \(assignment)\n".utf8))
        exit(2)
    }
    variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
}
guard FileManager.default.fileExists(atPath: IstioTestdata.proxy112.appendingPathComponent("metric/\(arguments[1])").path) else {
    FileHandle.standardError.write(Data("no such metric file: \(arguments[1])\n".utf8))
    exit(1)
}
for line in IstioTestdata.expectedLines(arguments[1], vars: variables) { print(line) }
