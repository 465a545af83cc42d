// Hello: adds `x-hello: <greeting>` to every response and counts responses.
// Configuration (JSON, optional): {"greeting": "hi"}.

import PluginJSON
import ProxyWasm

final class HelloRoot: RootContext {
    var greeting = "hello from Swift"
    var responses: Metric?

    override func onConfigure(pluginConfigurationSize: Int) -> Bool {
        let bytes = pluginConfigurationSize == 0 ? [] : ((try? pluginConfiguration()) ?? [])
        if !bytes.isEmpty {
            guard case let .object(members)? = try? JSONParser.parse(bytes) else {
                Log.error("hello: the configuration is not a JSON object")
                return false
            }
            for member in members {
                guard member.key == "greeting", case let .string(text) = member.value else {
                    Log.error("hello: unknown field \(member.key) (known: greeting)")
                    return false
                }
                greeting = text
            }
        }
        responses = try? Metric.define(.counter, name: "hello_responses_total")
        return true
    }

    override func createHttpContext(id: UInt32) -> HttpContext? { HelloStream(id: id, root: self) }
}

final class HelloStream: HttpContext {
    let root: HelloRoot

    init(id: UInt32, root: HelloRoot) {
        self.root = root
        super.init(id: id, rootID: root.id)
    }

    override func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        try? HeaderMap.responseHeaders.replace("x-hello", root.greeting)
        try? root.responses?.increment()
        return .continue
    }
}

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")  // called once, before the first context is created
func proxyWasmSwiftMain() { ProxyWasm.setRootContextFactory { HelloRoot(id: $0) } }
#endif
