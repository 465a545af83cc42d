import ProxyWasm
import TelemetryCore

/// Each upstream cluster's Istio service (`xds.cluster_metadata.filter_metadata.istio.services[0]`
/// name, host and namespace), read once per cluster and tick instead of on every report: Envoy walks and
/// serializes the cluster's metadata for each of those reads. istiod names a cluster after
/// its service (`outbound|9080||reviews.default.svc.cluster.local`), so the service of a cluster
/// name does not change; the cache is dropped on every tick (`tcp_reporting_duration`, 15 s by
/// default), so a changed cluster is seen within one tick, and holds at most 1024 clusters.
final class ClusterServices {
    /// A class, not a struct: the cache then has the same layout as the
    /// module's other byte-keyed caches of objects, so they share one copy
    /// of the Dictionary code.
    final class Service {
        let name: [UInt8]?
        let host: [UInt8]?
        let namespace: [UInt8]?

        init(name: [UInt8]?, host: [UInt8]?, namespace: [UInt8]?) {
            self.name = name
            self.host = host
            self.namespace = namespace
        }
    }

    private var services: [BytesKey: Service] = [:]
    static let limit = 1024

    /// The service of `cluster` (the current stream's cluster), reading it on a miss.
    func service(ofCluster cluster: [UInt8]?, xds: XDSAttributes) -> Service {
        guard let cluster else { return Self.read(xds) }
        let key = BytesKey(cluster)
        if let known = services[key] { return known }
        let service = Self.read(xds)
        if services.count >= Self.limit { services.removeAll(keepingCapacity: true) }
        services[key] = service
        return service
    }

    /// Forgets every cluster (on each tick).
    func forget() { services.removeAll(keepingCapacity: true) }

    static func read(_ xds: XDSAttributes) -> Service {
        Service(
            name: xds.bytes(StatsProperty.serviceName), host: xds.bytes(StatsProperty.serviceHost),
            namespace: xds.bytes(StatsProperty.serviceNamespace))
    }
}
