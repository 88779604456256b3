import PostgresNIO

/// The text of a statement built by interpolation that is the same on every call (only its bindings change),
/// and the name it is prepared under.
protocol CallText: Sendable {
    static var name: String { get }
    static var sql: String { get }
}

/// One call of a `CallText` statement run prepared (`PostgresPool.run`): the server parses the text once per
/// connection and keeps its plan, where a statement sent as text is parsed and planned on every call. The
/// bindings are the interpolated query's; its text must be `Text.sql`.
struct PreparedCall<Text: CallText>: PostgresPreparedStatement {
    static var name: String { Text.name }
    static var sql: String { Text.sql }
    typealias Row = PostgresRow

    let bindings: PostgresBindings

    init(_ query: PostgresQuery) {
        assert(query.sql == Text.sql, "\(Text.name) was built with another text")
        bindings = query.binds
    }

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
