import Testing

@testable import Stats

/// The list of contexts a stats root reports on each tick.
@Suite("Tick list")
struct TickListTests {
    final class Member: TickListMember {
        var tickListIndex = -1
        let number: Int
        init(_ number: Int) { self.number = number }
    }

    /// Random inserts and removals, repeated ones and ones of non-members included,
    /// leave exactly the members a set of them would hold, each once.
    @Test func holdsWhatASetWouldHold() {
        let members = (0..<64).map(Member.init)
        var list = TickList<Member>()
        var expected = Set<Int>()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let member = members.randomElement(using: &generator)!
            if Bool.random(using: &generator) {
                list.insert(member)
                expected.insert(member.number)
            } else {
                list.remove(member)
                expected.remove(member.number)
            }
            #expect(list.members.count == expected.count)
        }
        #expect(Set(list.members.map(\.number)) == expected)
        for member in members { #expect(list.contains(member) == expected.contains(member.number)) }
    }

    /// A member of one list is not taken for a member of another at the same index.
    @Test func aMemberOfAnotherListIsNotRemoved() {
        var first = TickList<Member>()
        var second = TickList<Member>()
        let a = Member(1)
        let b = Member(2)
        first.insert(a)
        second.insert(b)
        first.remove(b)
        #expect(first.members.map(\.number) == [1])
        #expect(second.contains(b))
    }
}
