import ProxyWasmHost
import Testing

/// Envoy's tick-timer rules on plain values, without a module.
@Suite struct TickScheduleTests {
    let millisecond: UInt64 = 1_000_000

    @Test func theFirstTickFallsOnePeriodAfterItWasSet() {
        var schedule = TickSchedule()
        schedule.setPeriod(250, root: 1, now: 7)
        #expect(schedule.period(of: 1) == 250)
        #expect(schedule.nextTick(of: 1) == 7 + 250 * millisecond)
        #expect(schedule.earliest(dueBy: 7 + 250 * millisecond - 1) == nil)
        #expect(schedule.earliest(dueBy: 7 + 250 * millisecond)?.root == 1)
    }

    @Test func eachTickSchedulesTheNextFromWhenItFired() {
        var schedule = TickSchedule()
        schedule.setPeriod(10, root: 1, now: 0)
        let fired = schedule.fire(root: 1, now: 12 * millisecond)
        #expect(fired)
        #expect(schedule.nextTick(of: 1) == 22 * millisecond)
    }

    @Test func aZeroPeriodStopsTheTicks() {
        var schedule = TickSchedule()
        schedule.setPeriod(10, root: 1, now: 0)
        schedule.setPeriod(0, root: 1, now: 5 * millisecond)
        #expect(schedule.period(of: 1) == 0)
        #expect(schedule.nextTick(of: 1) == nil)
        let fired = schedule.fire(root: 1, now: 10 * millisecond)
        #expect(!fired)
        #expect(schedule.earliest(dueBy: .max) == nil)
    }

    @Test func aRootWithoutAPeriodNeverTicks() {
        var schedule = TickSchedule()
        let fired = schedule.fire(root: 3, now: 0)
        #expect(!fired)
        #expect(schedule.nextTick(of: 3) == nil)
    }

    @Test func removingARootForgetsItsTimer() {
        var schedule = TickSchedule()
        schedule.setPeriod(10, root: 1, now: 0)
        schedule.remove(root: 1)
        #expect(schedule.period(of: 1) == nil)
        #expect(schedule.earliest(dueBy: .max) == nil)
    }

    @Test func theEarliestTickWinsAndTiesGoToTheLowestRoot() {
        var schedule = TickSchedule()
        for root: UInt32 in [9, 4, 6, 2, 7] { schedule.setPeriod(root == 6 ? 5 : 10, root: root, now: 0) }
        #expect(schedule.earliest(dueBy: .max)?.root == 6)
        schedule.remove(root: 6)
        #expect(schedule.earliest(dueBy: .max)?.root == 2)
        #expect(schedule.earliest(dueBy: .max)?.due == 10 * millisecond)
    }
}
