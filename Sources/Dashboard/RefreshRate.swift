/// The dashboard's refresh interval bounds and steps (btop-style 100 ms steps).
public enum RefreshRate {
    /// 10 frames per second.
    public static let defaultMilliseconds = 100
    /// Never faster than 20 fps, never slower than one frame every 2 s.
    public static let range: ClosedRange<Int> = 50...2_000
    /// `+` and `-` change the interval by this much (halved below 100 ms).
    public static let stepMilliseconds = 100

    /// One step faster (shorter interval).
    public static func faster(than milliseconds: Int) -> Int {
        let next = milliseconds <= stepMilliseconds ? milliseconds / 2 : milliseconds - stepMilliseconds
        return max(range.lowerBound, next)
    }

    /// One step slower (longer interval).
    public static func slower(than milliseconds: Int) -> Int {
        let next = milliseconds < stepMilliseconds ? milliseconds * 2 : milliseconds + stepMilliseconds
        return min(range.upperBound, next)
    }
}
