/// WAT modules for host tests.
public enum WATModule {
    /// A minimal valid proxy-wasm module; `body` adds functions and exports.
    public static func module(
        _ body: String, imports: String = "", marker: String = "proxy_abi_version_0_2_1",
        allocator: Bool = true
    ) -> String {
        """
        (module
          \(imports)
          (memory (export "memory") 1 4)
          (global $heap (mut i32) (i32.const 4096))
          \(allocator ? """
          (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
            (local $p i32)
            (local.set $p (global.get $heap))
            (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
            (local.get $p))
          """ : "")
          (func (export "\(marker)"))
          \(body)
        )
        """
    }
}
