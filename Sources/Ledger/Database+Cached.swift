import GRDB

extension Database {
    /// Executes an update statement prepared once per connection and reused (hot paths: tens of thousands
    /// of transactions per second, where re-parsing SQL each time shows in profiles).
    public func execute(cached sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
