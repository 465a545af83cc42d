// A proxy-wasm module is a reactor: the host never calls `main`. Everything
// starts at the exports defined by the ProxyWasm SDK.
