import Foundation

/// The repository's test fixtures (`Tests/Fixtures`), located from this file so
/// tests find them from any working directory.
public enum FixtureFiles {
    /// The repository root.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `Tests/Fixtures`.
    public static let directory = repository.appendingPathComponent("Tests/Fixtures")

    /// A fixture by its path under `Tests/Fixtures`.
    public static func url(_ path: String) -> URL { directory.appendingPathComponent(path) }

    /// A fixture's text (UTF-8); a missing fixture is a broken checkout, so it traps.
    public static func text(_ path: String) -> String {
        try! String(contentsOf: url(path), encoding: .utf8)
    }
}
