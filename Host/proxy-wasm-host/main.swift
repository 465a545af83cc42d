// The `proxy-wasm-host` command line; everything lives in ProxyWasmTools.
import ProxyWasmTools

ProxyWasmHostCommand.main()
