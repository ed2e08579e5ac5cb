import Foundation
import GRDB
import StrictDecoding

/// The engine's settings (`kassa settings show|set`).
public struct Settings: Sendable, Equatable, Codable {
    /// Off: selling needs no explicit shift; one is opened implicitly and closed by the Z report.
    public var sessionManagement: Bool
    /// On: counted cash at open and close, by denomination when given.
    public var cashControl: Bool
    /// The largest cash difference a cashier may close with; beyond it a manager approves. nil = unlimited.
    public var maxDifference: Int64?
    /// VAT rounded per line or once per rate on the receipt.
    public var vatRounding: String
    /// The float expected in the first shift.
    public var defaultFloat: Int64
    /// Only shifts since this date are listed to users without `session.view_others`.
    public var historySince: String?
    /// Notes and coins of the currency, in minor units, for counting by denomination.
    public var denominations: [Int64]
    /// The time zone that decides a shift's business date.
    public var timeZone: String
    public var parking: Bool
    /// At close, parked receipts block it (`block`) or move to the next shift (`defer`).
    public var parkedAtClose: String
    /// Who sees a new parked receipt: its owner, everyone, or users with the owner's role.
    public var parkedVisibility: String
    /// The store whose preset names override the defaults.
    public var store: String
    /// `none`, `at` (RKSV) or `se` (SKVFS 2014:9 with a control unit).
    public var fiscalProfile: String
    /// Regime settings: `at-cashbox-id`, `at-company-id`, `se-org-number`, `se-pos-id`.
    public var regime: [String: String]
    /// Printed on receipts and reports (the Swedish lists' first items), with `se-org-number`.
    public var companyName: String
    /// The point of sale's address; `;` separates printed lines.
    public var shopAddress: String
    /// A shift open longer than this many hours is warned about (a forgotten close); nil = never.
    public var warnOpenHours: Int? = 24
    /// How many closed shifts may wait to be posted before a new shift is refused; nil = any number.
    public var maxUnpostedShifts: Int? = nil
    /// How long a parked receipt opened for editing (`park open`) stays leased to its user without an edit.
    public var parkedLeaseSeconds: Int = 120
    /// The currency setting as stored (ISO 4217); empty: the fiscal profile's (at: EUR, se: SEK), else the terminal's.
    public var currencySetting: String = ""
    /// The language setting as stored (`sv`, `de`, `en`, `nb`); empty: the fiscal profile's (at: de, se: sv), else sv.
    public var localeSetting: String = ""

    /// The currency receipts, bills and reports are made in now.
    public func currency(terminal: String) -> String {
        if !currencySetting.isEmpty { return currencySetting }
        switch fiscalProfile {
        case "at": return "EUR"
        case "se": return "SEK"
        default: return terminal
        }
    }

    /// The language receipts and reports are printed in.
    public var locale: String {
        if !localeSetting.isEmpty { return localeSetting }
        return fiscalProfile == "at" ? "de" : "sv"
    }

    static let defaults: [(String, String)] = [
        ("session-management", "on"), ("cash-control", "on"), ("max-difference", "500"), ("vat-rounding", "line"),
        ("default-float", "0"), ("history-since", ""), ("denominations", "100000,50000,20000,10000,5000,2000,1000,500,200,100"),
        ("time-zone", TimeZone.current.identifier), ("parking", "on"), ("parked-at-close", "defer"),
        ("parked-visibility", "own"), ("store", "store-1"), ("fiscal-profile", "none"), ("company-name", "Kassa"), ("shop-address", ""), ("at-cashbox-id", ""), ("at-company-id", ""), ("at-aes-key-sha256", ""),
        ("se-org-number", ""), ("se-pos-id", ""), ("se-control-unit", ""), ("warn-open-hours", "24"), ("max-unposted-shifts", "unlimited"),
        ("parked-lease-seconds", "120"), ("currency", ""), ("locale", ""),
    ]

    public static let keys = defaults.map(\.0)

    static func validate(_ key: String, _ value: String) throws(SessionError) {
        try InputLimits.text(value, field: "The value of \(key)", limit: 256)
        func amount(_ text: String) -> Bool { Int64(text).map { $0 >= 0 && $0 <= InputLimits.maxAmount } ?? false }
        switch key {
        case "session-management", "cash-control":
            guard value == "on" || value == "off" else { throw .invalid("\(key) is on or off.") }
        case "max-difference":
            guard value == "unlimited" || amount(value) else {
                throw .invalid("max-difference is a whole amount in minor units (0 to \(InputLimits.maxAmount)), or unlimited.")
            }
        case "vat-rounding":
            guard value == "line" || value == "receipt" else { throw .invalid("vat-rounding is line or receipt.") }
        case "default-float":
            guard amount(value) else { throw .invalid("default-float is a whole amount in minor units (0 to \(InputLimits.maxAmount)).") }
        case "history-since":
            guard value.isEmpty || value.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else {
                throw .invalid("history-since is a date, YYYY-MM-DD.")
            }
        case "denominations":
            guard value.split(separator: ",").allSatisfy({ amount(String($0)) && $0 != "0" }) else {
                throw .invalid("denominations are amounts in minor units separated by commas.")
            }
        case "time-zone":
            guard TimeZone(identifier: value) != nil else { throw .invalid("Unknown time zone \(value).") }
        case "parking":
            guard value == "on" || value == "off" else { throw .invalid("parking is on or off.") }
        case "parked-at-close":
            guard value == "block" || value == "defer" else { throw .invalid("parked-at-close is block or defer.") }
        case "parked-visibility":
            guard ["own", "all", "role"].contains(value) else { throw .invalid("parked-visibility is own, all or role.") }
        case "store":
            guard !value.isEmpty else { throw .invalid("store is a store id.") }
        case "company-name":
            guard !value.trimmingCharacters(in: .whitespaces).isEmpty, value.count <= 64 else { throw .invalid("company-name is 1 to 64 characters.") }
        case "shop-address":
            guard value.count <= 128 else { throw .invalid("shop-address is at most 128 characters (use ';' between lines).") }
        case "fiscal-profile":
            guard ["none", "at", "se"].contains(value) else { throw .invalid("fiscal-profile is none, at (Austria, RKSV) or se (Sweden).") }
        case "at-cashbox-id":
            guard !value.isEmpty, !value.contains("_"), value.count <= 64 else { throw .invalid("at-cashbox-id is the Kassen-ID: no '_', at most 64 characters.") }
        case "at-company-id":
            // RKSV key ids are `<S|U|G>:<id>-<key id>`: the id holds no '-' or '_'.
            guard value.range(of: #"^(U:ATU\d{8}|S:\d{9}|G:\d{13})$"#, options: .regularExpression) != nil else {
                throw .invalid("at-company-id is the UID (U:ATU12345678), the 9-digit tax number (S:123456789) or the 13-digit GLN (G:…).")
            }
        case "at-aes-key-sha256":
            throw .invalid("at-aes-key-sha256 is the fingerprint of the register's AES key, recorded with its first RKSV receipt; it cannot be "
                + "set. Restore a lost key with `kassa fiscal at-key restore FILE`.")
        case "se-control-unit":
            throw .invalid("se-control-unit is the id of the control unit this terminal is bound to, recorded when the unit first answered; "
                + "it cannot be set. A register moved to another unit is a new terminal (a new database).")
        case "se-org-number":
            guard value.utf8.count == 10, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .invalid("se-org-number is the 10-digit organisation number, in the digits 0–9 (no dash).")
            }
            // The last digit is a Luhn check digit over the first nine.
            let digits = value.utf8.map { Int($0 - 0x30) }
            let sum = digits.enumerated().reduce(0) { total, item in
                let doubled = item.offset % 2 == 0 ? item.element * 2 : item.element
                return total + (doubled > 9 ? doubled - 9 : doubled)
            }
            guard sum % 10 == 0 else { throw .invalid("se-org-number \(value) fails its check digit (Luhn); check the number on the registration.") }
        case "se-pos-id":
            guard !value.isEmpty, value.count <= 16, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw .invalid("se-pos-id is the register's id at the control unit: 1 to 16 letters or digits.")
            }
        case "warn-open-hours":
            guard value == "off" || (Int(value).map { (1...720).contains($0) } ?? false) else {
                throw .invalid("warn-open-hours is a number of hours from 1 to 720, or off.")
            }
        case "currency":
            guard value.isEmpty || (value.utf8.count == 3 && value.utf8.allSatisfy { (0x41...0x5A).contains($0) }) else {
                throw .invalid("currency is an ISO 4217 code in capitals (EUR, SEK, NOK, …), or empty for the fiscal profile's.")
            }
        case "locale":
            guard value.isEmpty || ["sv", "de", "en", "nb"].contains(value) else {
                throw .invalid("locale is sv, de, en or nb (the language of receipts and reports), or empty for the fiscal profile's.")
            }
        case "parked-lease-seconds":
            guard (Int(value).map { (10...3600).contains($0) } ?? false) else { throw .invalid("parked-lease-seconds is 10 to 3600 seconds.") }
        case "max-unposted-shifts":
            guard value == "unlimited" || (Int(value).map { $0 >= 1 } ?? false) else {
                throw .invalid("max-unposted-shifts is a whole number of at least 1, or unlimited.")
            }
        default:
            let hint = StrictJSONDecoder.closest(to: key, in: Set(keys)).map { " Did you mean '\($0)'?" } ?? ""
            throw .invalid("Unknown setting '\(key)'.\(hint) Settings: \(keys.joined(separator: ", ")).")
        }
    }

    static func load(_ db: Database) throws -> Settings {
        var values: [String: String] = Dictionary(uniqueKeysWithValues: defaults)
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM setting")) { values[row["key"]] = row["value"] }
        return Settings(
            sessionManagement: values["session-management"] != "off",
            cashControl: values["cash-control"] != "off",
            maxDifference: values["max-difference"] == "unlimited" ? nil : Int64(values["max-difference"] ?? "") ?? 0,
            vatRounding: values["vat-rounding"] ?? "line",
            defaultFloat: Int64(values["default-float"] ?? "0") ?? 0,
            historySince: (values["history-since"]?.isEmpty ?? true) ? nil : values["history-since"],
            denominations: (values["denominations"] ?? "").split(separator: ",").compactMap { Int64($0) },
            timeZone: values["time-zone"] ?? TimeZone.current.identifier, parking: values["parking"] != "off",
            parkedAtClose: values["parked-at-close"] ?? "defer", parkedVisibility: values["parked-visibility"] ?? "own",
            store: values["store"] ?? "store-1", fiscalProfile: values["fiscal-profile"] ?? "none",
            regime: values.filter { $0.key.hasPrefix("at-") || $0.key.hasPrefix("se-") }, companyName: values["company-name"] ?? "Kassa",
            shopAddress: values["shop-address"] ?? "",
            warnOpenHours: values["warn-open-hours"] == "off" ? nil : Int(values["warn-open-hours"] ?? "") ?? 24,
            maxUnpostedShifts: Int(values["max-unposted-shifts"] ?? ""),
            parkedLeaseSeconds: Int(values["parked-lease-seconds"] ?? "") ?? 120, currencySetting: values["currency"] ?? "",
            localeSetting: values["locale"] ?? "")
    }

    /// The business date of `date` in the configured time zone.
    func businessDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .current
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
