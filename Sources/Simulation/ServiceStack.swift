/// Long-running services started in order and stopped in reverse order, the discipline of
/// swift-service-lifecycle's `ServiceGroup`: the last service started (which may depend on those before it)
/// is cancelled first, and the one before it only once the last has returned. The engine, then the load
/// generator, then the scenario player: the scenario stops driving the load, the load stops opening, and only
/// then does the engine stop its workers and timers.
public enum ServiceStack {
    public typealias Service = @Sendable () async -> Void

    /// Starts `services` in order, runs `body` while they run, then cancels them last to first, awaiting each
    /// before cancelling the one before it. Returns `body`'s result (or throws its error) once every service
    /// has returned.
    public static func run<T: Sendable>(_ services: [Service], until body: () async throws -> T) async throws -> T {
        let result: Result<T, any Error> = await nest(services[...], body)
        return try result.get()
    }

    private static func nest<T: Sendable>(
        _ services: ArraySlice<Service>, _ body: () async throws -> T
    ) async -> Result<T, any Error> {
        guard let first = services.first else {
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { await first() }
            // The services started after this one, and the body, run inside: they have all returned before
            // this one is cancelled.
            let result = await nest(services.dropFirst(), body)
            group.cancelAll()
            await group.waitForAll()
            return result
        }
    }
}
