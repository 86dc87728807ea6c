import ArgumentParser
import Foundation
import LedgerProtocol

/// A point in time as `--since` and `--until` take it, in the forms `journalctl --since` reads.
///
/// - a span back from now: `90s`, `30m`, `24h`, `7d`, `2w`, combined (`1h30m`), with an optional
///   leading `-` or a trailing ` ago`;
/// - `now`, `today`, `yesterday`, `tomorrow` (midnight);
/// - a date, `2026-11-01` (midnight), or a date and time, `2026-11-01 08:00`, `2026-11-01T08:00:05.25`,
///   with an optional zone: `Z`, `UTC`, `+02:00`, `-0500`;
/// - seconds since the epoch, `@1764000000`.
///
/// A date or time without a zone is in the local time zone (`TZ`), as journalctl reads it.
struct TimeArgument {
    var now: Date = Date()
    var timeZone: TimeZone = .current

    static let forms =
        "give a span back from now (90s, 30m, 24h, 7d, 2w, 1h30m), now, today, yesterday, a date (2026-11-01), "
        + "a date and time (2026-11-01 08:00, 2026-11-01T08:00:00Z, 2026-11-01T08:00+02:00) or @SECONDS since the epoch"

    func parse(_ text: String, option: String) throws -> LedgerTimestamp {
        guard let timestamp = self.timestamp(text.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("\(option) \"\(text)\" is not a time: \(Self.forms)")
        }
        if let problem = timestamp.rangeProblem(field: option) { throw ValidationError(problem) }
        return timestamp
    }

    private func timestamp(_ text: String) -> LedgerTimestamp? {
        let lowered = text.lowercased()
        switch lowered {
        case "now": return Self.micros(self.now)
        case "today": return self.midnight(daysFromToday: 0)
        case "yesterday": return self.midnight(daysFromToday: -1)
        case "tomorrow": return self.midnight(daysFromToday: 1)
        default: break
        }
        if lowered.hasPrefix("@") {
            guard let seconds = Double(lowered.dropFirst()), seconds.isFinite, abs(seconds) < 1e13 else { return nil }
            return LedgerTimestamp(rawValue: Int64((seconds * 1_000_000).rounded()))
        }
        if let span = Self.span(lowered) { return Self.micros(self.now).map { LedgerTimestamp(rawValue: $0.rawValue - span) } }
        return self.calendarTime(text)
    }

    /// Microseconds in a span such as `1h30m`, `-90s` or `2d ago`.
    static func span(_ text: String) -> Int64? {
        var rest = Substring(text)
        if rest.hasSuffix(" ago") { rest = rest.dropLast(4) } else if rest.hasPrefix("-") { rest = rest.dropFirst() }
        let units: [(String, Int64)] = [
            ("weeks", 604_800), ("week", 604_800), ("w", 604_800), ("days", 86_400), ("day", 86_400), ("d", 86_400),
            ("hours", 3_600), ("hour", 3_600), ("h", 3_600), ("minutes", 60), ("minute", 60), ("min", 60), ("m", 60),
            ("seconds", 1), ("second", 1), ("sec", 1), ("s", 1),
        ]
        var total: Int64 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " })
            let digits = rest.prefix(while: \.isASCIIDigit)
            guard !digits.isEmpty, digits.count <= 9, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count).drop(while: { $0 == " " })
            guard let (unit, seconds) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            let (sum, overflow) = total.addingReportingOverflow(amount * seconds * 1_000_000)
            guard !overflow else { return nil }
            total = sum
        }
        return total
    }

    /// `YYYY-MM-DD`, then optionally `T` or a space, `HH:MM`, `:SS`, `.fraction` and a zone.
    private func calendarTime(_ text: String) -> LedgerTimestamp? {
        var scanner = Substring(text)
        func number(_ width: Int) -> Int? {
            let digits = scanner.prefix(width)
            guard digits.count == width, digits.allSatisfy(\.isASCIIDigit) else { return nil }
            scanner = scanner.dropFirst(width)
            return Int(digits)
        }
        func take(_ character: Character) -> Bool {
            guard scanner.first == character else { return false }
            scanner = scanner.dropFirst()
            return true
        }
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2) else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var fractionMicros: Int64 = 0
        if take("T") || take(" ") {
            guard let hour = number(2), take(":"), let minute = number(2) else { return nil }
            components.hour = hour
            components.minute = minute
            if take(":") {
                guard let second = number(2) else { return nil }
                components.second = second
                if take(".") {
                    let digits = scanner.prefix(while: \.isASCIIDigit)
                    guard !digits.isEmpty, digits.count <= 9 else { return nil }
                    scanner = scanner.dropFirst(digits.count)
                    fractionMicros = Int64(String(digits).padding(toLength: 6, withPad: "0", startingAt: 0).prefix(6)) ?? 0
                }
            }
        }
        scanner = scanner.drop(while: { $0 == " " })
        var zone = self.timeZone
        if !scanner.isEmpty {
            guard let named = Self.zone(String(scanner)) else { return nil }
            zone = named
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(components.hour ?? 0),
            (0...59).contains(components.minute ?? 0), (0...60).contains(components.second ?? 0),
            let date = calendar.date(from: components),
            calendar.component(.day, from: date) == day  // 2026-02-30 does not roll into March
        else { return nil }
        return Self.micros(date).map { LedgerTimestamp(rawValue: $0.rawValue + fractionMicros) }
    }

    /// `Z`, `UTC`, `GMT`, `+02:00`, `+0200`, `-05`.
    private static func zone(_ text: String) -> TimeZone? {
        if ["z", "utc", "gmt"].contains(text.lowercased()) { return TimeZone(identifier: "UTC") }
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        let digits = text.dropFirst().filter { $0 != ":" }
        guard [2, 4].contains(digits.count), digits.allSatisfy(\.isASCIIDigit),
            text.dropFirst().filter({ $0 == ":" }).count <= (digits.count == 4 ? 1 : 0),
            let hours = Int(digits.prefix(2)), let minutes = Int(digits.dropFirst(2).isEmpty ? "0" : String(digits.dropFirst(2))),
            hours <= 14, minutes < 60
        else { return nil }
        return TimeZone(secondsFromGMT: (sign == "-" ? -1 : 1) * (hours * 3_600 + minutes * 60))
    }

    private func midnight(daysFromToday days: Int) -> LedgerTimestamp? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self.timeZone
        let today = calendar.startOfDay(for: self.now)
        return calendar.date(byAdding: .day, value: days, to: today).flatMap(Self.micros)
    }

    private static func micros(_ date: Date) -> LedgerTimestamp? {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 9e18 else { return nil }
        return LedgerTimestamp(rawValue: Int64(micros))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self.isASCII && self.isNumber }
}

/// `--since` and `--until` as the filter options and `query gaps` read them.
func parseTime(_ text: String, option: String = "--since", now: Date = Date()) throws -> LedgerTimestamp {
    try TimeArgument(now: now).parse(text, option: option)
}
