// A proxy-wasm module is a reactor: the host never calls `main`. Everything
// starts at the SDK's exports.
