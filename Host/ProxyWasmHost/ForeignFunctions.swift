import ProxyWasmABI

extension PluginVM {
    /// Registers a foreign function the guest can reach with `proxy_call_foreign_function`.
    public func registerForeignFunction(_ name: String, _ function: @escaping ForeignFunction) {
        foreignFunctions[name] = function
    }

    /// The foreign functions Envoy provides that this host implements.
    func registerEnvoyForeignFunctions() {
        registerForeignFunction("declare_property") { vm, arguments in vm.declareProperty(arguments) }
        registerForeignFunction("clear_route_cache") { _, _ in (.ok, []) }
        registerForeignFunction("compress") { _, arguments in Zlib.compress(arguments) }
        registerForeignFunction("uncompress") { _, arguments in Zlib.uncompress(arguments) }
        registerCELForeignFunctions()
    }

    /// Envoy's `declare_property`: `DeclarePropertyArguments{1: name, 2: readonly,
    /// 3: type, 4: schema, 5: span}`; an unparsable message or a second
    /// declaration of the same name is BadArgument.
    func declareProperty(_ arguments: [UInt8]) -> (WasmResult, [UInt8]) {
        guard let fields = ProtobufFields.parse(arguments), let nameBytes = fields[1] else { return (.badArgument, []) }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard !name.isEmpty, declaredProperties[name] == nil else { return (.badArgument, []) }
        func number(_ field: UInt64) -> UInt64 {
            guard let bytes = fields[field] else { return 0 }
            return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        guard let type = DeclaredProperty.ValueType(rawValue: number(3)),
            let span = DeclaredProperty.LifeSpan(rawValue: number(5))
        else { return (.badArgument, []) }
        declaredProperties[name] = DeclaredProperty(
            name: name, readonly: number(2) != 0, type: type,
            schema: fields[4] ?? [], span: span)
        return (.ok, [])
    }
}
