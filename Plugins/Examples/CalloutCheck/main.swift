// Executable targets need a main file. A proxy-wasm module is a reactor: the
// host never calls `main`, and the linker drops it. Everything starts at the
// exports defined by the ProxyWasm SDK.
