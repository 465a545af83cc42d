import Testing

@testable import TelemetryCore

/// The merge sort the plugins use instead of the standard library's.
@Suite("Stable sort")
struct StableSortTests {
    @Test(arguments: [0, 1, 2, 3, 7, 8, 9, 100, 1000, 1025])
    func sortsLikeTheStandardLibraryAndKeepsEqualKeysInOrder(_ count: Int) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            // Few distinct keys, so that many elements tie; the position tells them apart.
            let items = (0..<count).map { (key: Int.random(in: 0..<max(1, count / 4), using: &generator), position: $0) }
            var sorted = items
            StableSort.sort(&sorted) { $0.key < $1.key }
            let expected = items.sorted { $0.key < $1.key || ($0.key == $1.key && $0.position < $1.position) }
            #expect(sorted.map(\.key) == expected.map(\.key))
            #expect(sorted.map(\.position) == expected.map(\.position))
        }
    }

    @Test func sortedAndReversedInputs() {
        var ascending = Array(0..<513)
        StableSort.sort(&ascending, by: <)
        #expect(ascending == Array(0..<513))
        var descending = Array((0..<513).reversed())
        StableSort.sort(&descending, by: <)
        #expect(descending == Array(0..<513))
    }
}
