/// The source of the bytes `random_get` hands a guest: SplitMix64 from a fixed
/// seed, one per VM, so a run (and its trace) is the same every time.
struct ReproducibleRandom {
    private var state: UInt64 = 0x5EED

    /// The next 64 random bits; `random_get` salts each with the byte's index in its request.
    mutating func next(salt: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15 &+ salt
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
