import Testing

@testable import ProxyWasm

/// Routing of callbacks to contexts, and robustness against unknown ids.
extension NativeHostSuites {
    @Suite("Dispatcher", .serialized)
    struct DispatcherTests {
        final class Root: RootContext {
            var events: [String] = []
            override func onConfigure(pluginConfigurationSize: Int) -> Bool {
                events.append("configure \(pluginConfigurationSize)")
                return pluginConfigurationSize < 100
            }
            override func createHttpContext(id: UInt32) -> HttpContext? { Stream(id: id, root: self) }
            override func onDelete() { events.append("root delete") }
        }

        final class Stream: HttpContext {
            let root: Root
            init(id: UInt32, root: Root) {
                self.root = root
                super.init(id: id, rootID: root.id)
            }
            override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
                root.events.append("request headers \(headerCount) \(endOfStream)")
                return .stopIteration
            }
            override func onLog() { root.events.append("log \(id)") }
            override func onDelete() { root.events.append("delete \(id)") }
        }

        let dispatcher = Dispatcher.shared
        let root: Root

        init() {
            NativeHostBridge.install(RecordingHost())
            dispatcher.reset()
            var created: Root?
            ProxyWasm.setRootContextFactory { id in
                let root = Root(id: id)
                created = root
                return root
            }
            dispatcher.onContextCreate(1, 0)
            root = created!
        }

        @Test func callbacksReachTheirContextsInOrder() {
            #expect(dispatcher.onConfigure(1, 12) == 1)
            #expect(dispatcher.onConfigure(1, 500) == 0)
            dispatcher.onContextCreate(2, 1)
            #expect(dispatcher.onRequestHeaders(2, 5, 1) == FilterHeadersStatus.stopIteration.rawValue)
            dispatcher.onLog(2)
            #expect(dispatcher.onDone(2) == 1)
            dispatcher.onDelete(2)
            #expect(root.events == ["configure 12", "configure 500", "request headers 5 true", "log 2", "delete 2"])
            #expect(dispatcher.liveContextCounts.http == 0)
            dispatcher.onDelete(1)
            #expect(dispatcher.liveContextCounts.roots == 0)
        }

        @Test func unknownContextsAreAnsweredWithContinue() {
            #expect(dispatcher.onRequestHeaders(99, 1, 0) == 0)
            #expect(dispatcher.onResponseBody(99, 10, 1) == 0)
            #expect(dispatcher.onDownstreamData(99, 10, 0) == 0)
            #expect(dispatcher.onVmStart(42, 0) == 1)
            dispatcher.onContextCreate(7, 42)  // parent unknown: no context, no crash
            dispatcher.onLog(7)
            dispatcher.onDelete(7)
            #expect(dispatcher.liveContextCounts.http == 0)
        }
    }
}
