/// A member of a `TickList`, which keeps the member's position in it.
protocol TickListMember: AnyObject {
    /// The member's index in the list it is on, -1 when on none.
    var tickListIndex: Int { get set }
}

/// The contexts a root reports on every tick (open TCP connections, gRPC
/// streams past their response headers): added and removed in constant
/// time, each member holding its own index, listed in no particular order.
/// An array, not a Dictionary by context id: each Dictionary specialization
/// adds ~4 KB of code to the module, and the only lookup is by the member.
struct TickList<Member: TickListMember> {
    private(set) var members: [Member] = []

    /// Adds `member` unless it is on the list already.
    mutating func insert(_ member: Member) {
        if contains(member) { return }
        member.tickListIndex = members.count
        members.append(member)
    }

    /// Removes `member` if it is on the list; the last member takes its place.
    mutating func remove(_ member: Member) {
        guard contains(member) else { return }
        let index = member.tickListIndex
        let last = members.removeLast()
        if index < members.count {
            members[index] = last
            last.tickListIndex = index
        }
        member.tickListIndex = -1
    }

    func contains(_ member: Member) -> Bool {
        let index = member.tickListIndex
        return index >= 0 && index < members.count && members[index] === member
    }
}
