/// The arguments of one host call, as the engine delivers them.
public protocol HostCallArguments {
    func i32(_ index: Int) -> UInt32
    func i64(_ index: Int) -> UInt64
}

/// Arguments held in an array (tests, the native mode).
public struct ArrayArguments: HostCallArguments {
    public let values: [UInt64]
    public init(_ values: [UInt64]) { self.values = values }
    public func i32(_ index: Int) -> UInt32 { UInt32(truncatingIfNeeded: values[index]) }
    public func i64(_ index: Int) -> UInt64 { values[index] }
}
