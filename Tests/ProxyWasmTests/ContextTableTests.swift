import Testing

@testable import ProxyWasm

/// The dispatcher's id -> context table, against a Dictionary as the model.
@Suite("Context table")
struct ContextTableTests {
    func pendingRoot(_ entry: ContextEntry?) -> UInt32? {
        if case let .pending(rootID)? = entry { return rootID }
        return nil
    }

    @Test func randomInsertsReplacementsAndRemovalsMatchADictionary() {
        var table = ContextTable()
        var model: [UInt32: UInt32] = [:]
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for step in 0..<50_000 {
            // Envoy's ids grow; some callers reuse a small range. Mix both.
            let key = next() % 3 == 0 ? UInt32(next() % 64) : UInt32(step / 2 + 1000)
            switch next() % 3 {
            case 0, 1:
                let value = UInt32(truncatingIfNeeded: next())
                table.set(key, .pending(rootID: value))
                model[key] = value
            default:
                #expect(pendingRoot(table.remove(key)) == model.removeValue(forKey: key))
            }
            if step % 997 == 0 {
                #expect(table.count == model.count)
                for (key, value) in model { #expect(pendingRoot(table[key]) == value) }
            }
        }
        #expect(table.values.count == model.count)
        #expect(pendingRoot(table[UInt32.max]) == nil)
    }

    @Test func churnOfShortLivedContextsKeepsEveryLiveOne() {
        var table = ContextTable()
        for id in UInt32(1)...100_000 {
            table.set(id, .pending(rootID: 1))
            if id > 3 { #expect(pendingRoot(table.remove(id - 3)) == 1) }
        }
        #expect(table.count == 3)
        for id in UInt32(99_998)...100_000 { #expect(pendingRoot(table[id]) == 1) }
        #expect(table[99_997] == nil)
    }
}
