import Testing

/// Suites that install a process-wide `NativeProxyHost` (and use the shared
/// dispatcher) must not run in parallel with each other: they are nested here,
/// and `.serialized` applies to every nested suite.
@Suite(.serialized) enum NativeHostSuites {}
