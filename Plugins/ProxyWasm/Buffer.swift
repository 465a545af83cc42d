// Byte buffers: HTTP bodies, TCP data in both directions, the VM and plugin
// configuration, call-out responses and foreign-function arguments.

/// One of the host's buffers.
public struct Buffer: Sendable {
    public let type: BufferType

    public init(_ type: BufferType) { self.type = type }

    public static let requestBody = Buffer(.httpRequestBody)
    public static let responseBody = Buffer(.httpResponseBody)
    public static let downstreamData = Buffer(.downstreamData)
    public static let upstreamData = Buffer(.upstreamData)
    public static let vmConfiguration = Buffer(.vmConfiguration)
    public static let pluginConfiguration = Buffer(.pluginConfiguration)
    public static let httpCallResponseBody = Buffer(.httpCallResponseBody)
    public static let foreignFunctionArguments = Buffer(.foreignFunctionArguments)

    /// Up to `maxSize` bytes from `start` (the host clamps to what it has).
    public func bytes(start: Int = 0, maxSize: Int = Int(Int32.max)) throws(HostError) -> [UInt8] {
        try hostBytes { proxy_get_buffer_bytes(type.rawValue, start, maxSize, $0, $1) }
    }

    /// The buffer's current length.
    public func length() throws(HostError) -> Int {
        var length = 0
        var flags: UInt32 = 0
        try check(proxy_get_buffer_status(type.rawValue, &length, &flags))
        return length
    }

    /// Envoy's `set_buffer_bytes` rules: `start == 0` replaces the first
    /// `length` bytes with `data` (prepends when `length == 0`, replaces all
    /// when `length >= size`); `start >= size` appends; anything else is
    /// `BadArgument`.
    public func replace(start: Int, length: Int, with data: [UInt8]) throws(HostError) {
        try check(withBytes(data) { proxy_set_buffer_bytes(type.rawValue, start, length, $0.baseAddress, $0.count) })
    }

    /// Inserts `data` before the current contents.
    public func prepend(_ data: [UInt8]) throws(HostError) { try replace(start: 0, length: 0, with: data) }

    /// Removes the first `count` bytes.
    public func drainPrefix(_ count: Int) throws(HostError) { try replace(start: 0, length: count, with: []) }

    /// Appends `data` after the current contents.
    public func append(_ data: [UInt8]) throws(HostError) {
        try replace(start: try length(), length: 0, with: data)
    }
}
