/// The timeline a server that takes writes is on. Every promotion starts a new one, so when two servers take
/// writes (an old primary started again after a failover, or a standby promoted by hand: a split brain), the
/// newer timeline tells which was promoted last.
public enum Timeline {
    /// A column for a status query: the primary's current WAL file name (its first eight hex digits are its
    /// timeline), NULL on a standby.
    public static let walFileColumn =
        "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END"

    /// The timeline a WAL file name starts with (its first eight hex digits: `000000020000000000000003` is on 2).
    public static func of(walFile name: String?) -> UInt32? {
        guard let name, name.count == 24 else { return nil }
        return UInt32(name.prefix(8), radix: 16)
    }

    /// Of the servers that take writes (each given with its timeline, 0 when it did not say; nil for a server that
    /// does not take writes), the index of the one on the newest timeline; among equals the first.
    public static func newest(_ timelines: [UInt32?]) -> Int? {
        var best: (index: Int, timeline: UInt32)?
        for (index, timeline) in timelines.enumerated() {
            guard let timeline, best.map({ timeline > $0.timeline }) ?? true else { continue }
            best = (index, timeline)
        }
        return best?.index
    }
}
