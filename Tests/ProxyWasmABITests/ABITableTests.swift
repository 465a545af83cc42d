import Testing

@testable import ProxyWasmABI

@Suite("Enums and the host-function table")
struct ABITableTests {
    @Test func enumValuesMatchTheWire() {
        #expect(WasmResult.allCases.map(\.rawValue) == Array(0...12))
        #expect(WasmResult.invalidMemoryAccess.rawValue == 6 && WasmResult.casMismatch.rawValue == 8)
        #expect(LogLevel.allCases.map(\.rawValue) == Array(0...5))
        #expect(HeaderMapType.allCases.map(\.rawValue) == Array(0...7))
        #expect(HeaderMapType.httpResponseHeaders.rawValue == 2)
        #expect(BufferType.allCases.map(\.rawValue) == Array(0...8))
        #expect(BufferType.pluginConfiguration.rawValue == 7 && BufferType.vmConfiguration.rawValue == 6)
        #expect(MetricType.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(PeerType.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(StreamType.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(FilterHeadersStatus.stopAllIterationAndWatermark.rawValue == 4)
        #expect(FilterDataStatus.stopIterationNoBuffer.rawValue == 3)
        #expect(FilterTrailersStatus.stopIteration.rawValue == 1)
        #expect(FilterStatus.stopIteration.rawValue == 1)
        #expect(GrpcStatus.unauthenticated.rawValue == 16 && GrpcStatus.noStatus.rawValue == 0xFFFF_FFFF)
        #expect(FailState.runtimeError.rawValue == 7)
        #expect(TrafficDirection.outbound.rawValue == 2)
        #expect(BufferFlags.endOfStream.rawValue == 1)
    }

    @Test func everyCaseHasADistinctName() {
        #expect(Set(WasmResult.allCases.map(\.name)).count == WasmResult.allCases.count)
        #expect(Set(BufferType.allCases.map(\.name)).count == BufferType.allCases.count)
        #expect(Set(GrpcStatus.allCases.map(\.name)).count == GrpcStatus.allCases.count)
        #expect(WasmResult.badArgument.name == "BadArgument")
    }

    @Test func abiVersionsComeFromMarkerExports() {
        #expect(ABIVersion(markerExport: "proxy_abi_version_0_2_1") == .v0_2_1)
        #expect(ABIVersion(markerExport: "proxy_abi_version_0_1_0") == .v0_1_0)
        #expect(ABIVersion(markerExport: "proxy_abi_version_0_x_x") == nil)
        #expect(ABIVersion.v0_1_0 < .v0_2_0 && ABIVersion.v0_2_0 < .v0_2_1)
    }

    @Test func signaturesPrintLikeEnvoysLinkErrors() {
        let log = proxyHostFunctions.first { $0.name == "proxy_log" }!
        #expect(log.signature.description == "i32 i32 i32 -> i32")
        let increment = proxyHostFunctions.first { $0.name == "proxy_increment_metric" }!
        #expect(increment.signature.description == "i32 i64 -> i32")
        let done = proxyHostFunctions.first { $0.name == "proxy_done" }!
        #expect(done.signature.description == "-> i32")
        let growth = proxyHostFunctions.first { $0.name == "emscripten_notify_memory_growth" }!
        #expect(growth.signature.description == "i32 ->")
    }

    @Test func versionSpecificFunctionsFollowEnvoysRegistration() {
        func names(_ version: ABIVersion) -> Set<String> { Set(hostFunctions(for: version).map(\.name)) }
        #expect(names(.v0_2_1).contains("proxy_get_log_level"))
        #expect(!names(.v0_2_0).contains("proxy_get_log_level"))
        #expect(names(.v0_2_0).contains("proxy_continue_stream"))
        #expect(!names(.v0_1_0).contains("proxy_continue_stream"))
        #expect(names(.v0_1_0).contains("proxy_get_configuration"))
        #expect(!names(.v0_2_1).contains("proxy_clear_route_cache"))
        // 36 common proxy_* calls + 3 (0.2.1) + envoy_resolve_dns + 2 shims.
        #expect(hostFunctions(for: .v0_2_1).filter { $0.module == "env" }.count == 42)
    }

    @Test func envoysWasiSubsetHasItsQuirks() {
        #expect(wasiFunctionSignatures.count == 45)
        #expect(wasiHostFunctions.count == 90)  // under both module names
        let link = wasiFunctionSignatures.first { $0.name == "path_link" }!
        #expect(link.signature.parameters.count == 6)  // real preview1: 7
        let symlink = wasiFunctionSignatures.first { $0.name == "path_symlink" }!
        #expect(symlink.signature.parameters.count == 4)  // real preview1: 5
        #expect(!wasiFunctionSignatures.contains { $0.name == "proc_raise" })
    }

    @Test func namesAreUniquePerModuleAndVersion() {
        for version in ABIVersion.allCases {
            let rows = hostFunctions(for: version)
            #expect(Set(rows.map { $0.module + "." + $0.name }).count == rows.count)
            let callbacks = proxyCallbacks.filter { $0.isAvailable(in: version) }
            #expect(Set(callbacks.map(\.name)).count == callbacks.count)
        }
    }

    @Test func headerCallbacksTakeEndOfStreamFrom020() {
        #expect(callback(named: "proxy_on_request_headers", in: .v0_1_0)?.signature.parameters.count == 2)
        #expect(callback(named: "proxy_on_request_headers", in: .v0_2_1)?.signature.parameters.count == 3)
        #expect(callback(named: "proxy_on_foreign_function", in: .v0_1_0) == nil)
    }
}
