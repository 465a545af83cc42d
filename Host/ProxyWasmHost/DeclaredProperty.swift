/// One `declare_property` declaration (Envoy's `CelStatePrototype`).
public struct DeclaredProperty: Equatable, Sendable {
    /// Envoy's `WasmType`.
    public enum ValueType: UInt64, Sendable {
        case bytes = 0
        case string = 1
        case flatBuffers = 2
        case protobuf = 3
    }
    /// Envoy's `LifeSpan` of the filter state entry.
    public enum LifeSpan: UInt64, Sendable {
        case filterChain = 0
        case downstreamRequest = 1
        case downstreamConnection = 2
    }

    public let name: String
    public let readonly: Bool
    public let type: ValueType
    /// The binary FlatBuffers schema (`.bfbs`) or protobuf descriptor, by `type`.
    public let schema: [UInt8]
    public let span: LifeSpan
}
