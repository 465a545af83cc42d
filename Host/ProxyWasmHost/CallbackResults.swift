import ProxyWasmABI

/// What Envoy makes of the value a stream callback returns, as
/// proxy-wasm-cpp-host converts it and Envoy then applies it: a missing callback
/// (nil) continues; a callback that sent a local reply stops, whatever it returned;
/// values outside the ABI's range stop. Envoy leaves
/// `allow_on_headers_stop_iteration` unset, so a headers callback's
/// StopIteration stops all iteration (watermark), as an out-of-range value does.
public enum CallbackResults {
    /// `proxy_on_request_headers` / `proxy_on_response_headers`.
    public static func headers(_ raw: UInt32?, sentLocalReply: Bool) -> FilterHeadersStatus {
        guard let raw else { return .continue }
        if sentLocalReply || raw > 4 { return .stopAllIterationAndWatermark }
        switch raw {
        case 0, 2: return .continue
        case 3: return .stopAllIterationAndBuffer
        default: return .stopAllIterationAndWatermark
        }
    }

    /// `proxy_on_request_body` / `proxy_on_response_body` and the TCP data callbacks.
    public static func data(_ raw: UInt32?, sentLocalReply: Bool) -> FilterDataStatus {
        guard let raw else { return .continue }
        if sentLocalReply || raw > 3 { return .stopIterationNoBuffer }
        return FilterDataStatus(rawValue: raw) ?? .stopIterationNoBuffer
    }

    /// `proxy_on_request_trailers` / `proxy_on_response_trailers`.
    public static func trailers(_ raw: UInt32?, sentLocalReply: Bool) -> FilterTrailersStatus {
        guard let raw else { return .continue }
        if sentLocalReply || raw > 1 { return .stopIteration }
        return raw == 0 ? .continue : .stopIteration
    }
}
