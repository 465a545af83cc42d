/// The release this source tree is: shown by `proxy-wasm-host --version` and
/// logged by each module when its VM starts. `CHANGELOG.md`'s newest heading
/// names the same version (checked by a test).
public enum ProjectVersion {
    public static var text: String { "0.9.0" }
}
