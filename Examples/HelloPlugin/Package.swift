// swift-tools-version: 6.1
//
// A proxy-wasm plugin in its own package, built on this repository's SDK
// (the `ProxyWasm` library). `make` here builds hello.wasm; copy the folder
// anywhere and point PROXY_WASM_SWIFT at a clone of the repository.

import Foundation
import PackageDescription

// Where the SDK lives: $PROXY_WASM_SWIFT, else two levels up (this example in the repository).
let sdkPath = Context.environment["PROXY_WASM_SWIFT"] ?? "../.."
let sdk = URL(fileURLWithPath: sdkPath, relativeTo: URL(fileURLWithPath: Context.packageDirectory + "/")).standardizedFileURL
// SwiftPM names a path dependency after its directory.
let sdkIdentity = sdk.lastPathComponent.lowercased()

let package = Package(
    name: "hello-plugin",
    products: [.executable(name: "hello", targets: ["Hello"])],
    dependencies: [.package(path: sdk.path)],
    targets: [
        .executableTarget(
            name: "Hello",
            dependencies: [
                .product(name: "ProxyWasm", package: sdkIdentity),
                .product(name: "PluginJSON", package: sdkIdentity),
            ],
            path: "Sources/Hello")
    ]
)
