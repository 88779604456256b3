import GRDB

extension Database {
    /// Executes an update statement prepared once per connection and reused (hot paths: tens of thousands
    /// of transactions per second, where re-parsing SQL each time shows in profiles).
    public func execute(cached sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension Statement {
    /// The first row mapped by `transform`, read straight from the statement without copying the row
    /// (`Row.fetchOne` copies every value first). The row is only valid inside `transform`.
    public func fetchFirst<T>(arguments: StatementArguments, _ transform: (Row) throws -> T) throws -> T? {
        let cursor = try Row.fetchCursor(self, arguments: arguments)
        guard let row = try cursor.next() else { return nil }
        return try transform(row)
    }
}
