import Testing

@testable import ProxyWasmHost

@Suite("Deferred work")
struct DeferredWorkTests {
    @Test func deletesAndNotificationsComeOutInTheOrderTheyWerePosted() {
        var work = DeferredWork()
        work.notifyQueueReady(root: 1, token: 7)
        work.deleteRoot(3)
        work.notifyQueueReady(root: 2, token: 8)
        work.deleteRoot(4)
        var deleted: [UInt32] = []
        while let root = work.nextDelete() { deleted.append(root) }
        var notified: [UInt32] = []
        while let (root, token) = work.nextQueueNotification() { notified += [root, token] }
        #expect(deleted == [3, 4])
        #expect(notified == [1, 7, 2, 8])
        #expect(work.nextDelete() == nil)
    }
}
