import Testing

@testable import ProxyWasmHost

@Suite("Context registry")
struct ContextRegistryTests {
    @Test func rootsAndStreamsShareOneIDSequenceFromOne() {
        var registry = ContextRegistry()
        let first = registry.addRoot(PluginConfiguration(name: "a"))
        let stream = registry.addStream(root: first.id, kind: .http, stream: StreamState())
        let second = registry.addRoot(PluginConfiguration(name: "b", rootID: "b_root"))
        #expect([first.id, stream.id, second.id] == [1, 2, 3])
        #expect(first.rootID == 1 && stream.rootID == 1 && second.rootID == 3)
        #expect(registry.plugin(ofRoot: 3)?.rootID == "b_root")
        registry.remove(stream.id)
        #expect(registry[2] == nil)
        // a removed id is never handed out again
        let next = registry.addStream(root: 1, kind: .tcp, stream: StreamState())
        #expect(next.id == 4)
    }

    @Test func aParkedRootIsReleasedOnce() {
        var registry = ContextRegistry()
        let root = registry.addRoot(PluginConfiguration(name: "a")).id
        let releasedUnparked = registry.release(root)
        registry.park(root)
        let parked = registry.isParked(root)
        let released = registry.release(root)
        let releasedTwice = registry.release(root)
        #expect(!releasedUnparked && parked && released && !releasedTwice)
        #expect(!registry.isParked(root))
    }
}
