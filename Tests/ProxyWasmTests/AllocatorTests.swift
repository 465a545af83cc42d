import ProxyWasmRuntime
import Testing

/// The modules' heap (Plugins/ProxyWasmRuntime/allocator.c), run natively
/// over a fixed buffer: the same code the modules link as malloc/free.
@Suite("Plugin heap allocator", .serialized)
struct AllocatorTests {
    /// A deterministic generator, so a failure replays.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    /// Runs `body` with a fresh heap of `size` bytes.
    func withHeap(_ size: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) rethrows {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { memory.deallocate() }
        proxy_wasm_test_arena_reset(memory, size)
        try body(memory)
    }

    @Test func classesRoundUpByAtMostAQuarterAndCoverTheRequest() {
        for size in [0, 1, 15, 16, 17, 255, 256, 257, 320, 321, 512, 513, 1000, 4096, 4097, 65536, 1 << 20, (1 << 30) + 1] {
            let usable = proxy_wasm_test_class_size(size)
            #expect(usable >= max(size, 1), "size \(size) got a class of \(usable)")
            if size > 256 { #expect(usable <= size + size / 4 + 1, "size \(size) got a class of \(usable)") }
        }
    }

    @Test func randomAllocationsNeverOverlapKeepTheirBytesAndAreReused() throws {
        try withHeap(64 << 20) { memory in
            var random = SplitMix(state: 42)
            var live: [(pointer: UnsafeMutableRawPointer, size: Int, fill: UInt8)] = []
            var highWater = 0
            for step in 0..<20_000 {
                if live.isEmpty || random.below(3) != 0 {
                    // Mostly small sizes, like Swift objects and arrays; a few large ones.
                    let size = random.below(10) == 0 ? random.below(70_000) : random.below(300)
                    let pointer = try #require(proxy_wasm_test_malloc(size), "malloc(\(size)) failed at step \(step)")
                    #expect(Int(bitPattern: pointer) % 16 == 0)
                    #expect(proxy_wasm_test_usable_size(pointer) >= size)
                    let fill = UInt8(truncatingIfNeeded: step)
                    pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                    live.append((pointer, size, fill))
                } else {
                    let index = random.below(live.count)
                    let block = live.remove(at: index)
                    let bytes = UnsafeBufferPointer(start: block.pointer.assumingMemoryBound(to: UInt8.self), count: block.size)
                    #expect(bytes.allSatisfy { $0 == block.fill }, "a block's bytes changed before it was freed (step \(step))")
                    if random.below(4) == 0 {
                        let grown = block.size * 2 + 1
                        let moved = try #require(proxy_wasm_test_realloc(block.pointer, grown))
                        let kept = UnsafeBufferPointer(start: moved.assumingMemoryBound(to: UInt8.self), count: block.size)
                        #expect(kept.allSatisfy { $0 == block.fill }, "realloc lost bytes (step \(step))")
                        moved.advanced(by: block.size).initializeMemory(as: UInt8.self, repeating: block.fill, count: grown - block.size)
                        live.append((moved, grown, block.fill))
                    } else {
                        proxy_wasm_test_free(block.pointer)
                    }
                }
                highWater = max(highWater, live.reduce(0) { $0 + $1.size })
            }
            // No two live blocks overlap.
            let sorted = live.sorted { $0.pointer < $1.pointer }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                #expect(a.pointer + a.size <= b.pointer, "blocks overlap")
            }
            for block in live {
                let bytes = UnsafeBufferPointer(start: block.pointer.assumingMemoryBound(to: UInt8.self), count: block.size)
                #expect(bytes.allSatisfy { $0 == block.fill })
                #expect(block.pointer >= memory && block.pointer + block.size <= memory + (64 << 20))
            }
        }
    }

    @Test func aFreedBlockServesTheNextRequestOfItsClass() {
        withHeap(1 << 20) { _ in
            let first = proxy_wasm_test_malloc(100)
            proxy_wasm_test_free(first)
            let second = proxy_wasm_test_malloc(97)
            #expect(first == second, "a freed block of the same class was not reused")
            let other = proxy_wasm_test_malloc(300)
            #expect(other != first)
        }
    }

    @Test func churnOfOneShapeDoesNotGrowTheHeap() {
        withHeap(1 << 20) { _ in
            // A request's worth of allocations, made and freed many times, stays in the same blocks.
            var first: Set<UnsafeMutableRawPointer> = []
            for round in 0..<1000 {
                let blocks = [24, 48, 1000, 700, 16, 4000].map { proxy_wasm_test_malloc($0)! }
                if round == 0 { first = Set(blocks) } else { #expect(Set(blocks) == first) }
                for block in blocks.reversed() { proxy_wasm_test_free(block) }
            }
        }
    }

    @Test func alignedAllocationsHonourTheAlignmentAndFreeTheirBlock() throws {
        try withHeap(1 << 20) { _ in
            for alignment in [8, 16, 32, 64, 4096] {
                let pointer = try #require(proxy_wasm_test_aligned(alignment, 100))
                #expect(Int(bitPattern: pointer) % alignment == 0)
                #expect(proxy_wasm_test_usable_size(pointer) >= 100)
                pointer.initializeMemory(as: UInt8.self, repeating: 7, count: 100)
                let grown = try #require(proxy_wasm_test_realloc(pointer, 10_000))
                #expect(UnsafeBufferPointer(start: grown.assumingMemoryBound(to: UInt8.self), count: 100).allSatisfy { $0 == 7 })
                proxy_wasm_test_free(grown)
            }
            #expect(proxy_wasm_test_aligned(48, 10) == nil, "a non-power-of-two alignment must be refused")
        }
    }

    @Test func exhaustionAndOverflowReturnNull() {
        withHeap(1 << 16) { _ in
            #expect(proxy_wasm_test_malloc(1 << 20) == nil)
            #expect(proxy_wasm_test_calloc(Int.max / 2, 4) == nil)
            #expect(proxy_wasm_test_malloc(Int.max) == nil)
            let zeroed = proxy_wasm_test_calloc(10, 10)!
            #expect(UnsafeBufferPointer(start: zeroed.assumingMemoryBound(to: UInt8.self), count: 100).allSatisfy { $0 == 0 })
        }
    }
}
