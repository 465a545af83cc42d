// Plugins see the ABI enums and codecs through the SDK.
@_exported import ProxyWasmABI
