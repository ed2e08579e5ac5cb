import PrivateFiles
@preconcurrency import Crypto
import Foundation
import RKSV
import SessionEngine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `at` fiscal profile: every receipt carries its RKSV code (suite R1-AT0, closed system), signed by the terminal's
/// fiscal module and chained to the previous one; the QR representation is printed (Docs/fiscal-at.md).
///
/// - The Kassen-ID is `at-cashbox-id` (default: the Terminal-ID); the key id is `<at-company-id>-K<n>`, n the terminal's
///   n-th registered fiscal module.
/// - The receipt id (Belegnummer) is the receipt number; training receipts, numbered in their own series, are `T<n>`.
/// - The turnover counter is the terminal's grand total net, so the profile starts on a terminal with none yet: its
///   first receipt is the signed start receipt (`fiscalType: start`).
/// - A module that fails gives the failure marker; the next sale after it is preceded by a signed Sammelbeleg.
public final class AustrianProfile: FiscalProfile {
    public let name = "at"
    private let key: Mutex<[UInt8]?>
    private let keyPath: String?

    /// A profile with a known AES key (tests, replays).
    public init(aesKey: [UInt8]) {
        key = Mutex(aesKey)
        keyPath = nil
    }

    /// A profile whose AES key lives in `keyPath`, made there on the first Austrian receipt (see `loadKey`).
    public init(keyPath: String) {
        key = Mutex(nil)
        self.keyPath = keyPath
    }

    /// The setting that keeps the AES key's fingerprint (hex SHA-256 of the 32 bytes), recorded with the first Austrian
    /// receipt: afterwards a missing or other key is refused.
    public static let fingerprintSetting = "at-aes-key-sha256"

    /// The register's AES key as the file holds it now, checked against `fingerprint` when one was recorded. It is made
    /// only when `mayCreate` (no Austrian receipt exists yet); afterwards a missing key is refused with what to do.
    public func aesKey(mayCreate: Bool, fingerprint: String?) throws(SessionError) -> [UInt8] {
        let known: [UInt8]
        if let cached = key.withLock({ $0 }) {
            known = cached
        } else {
            guard let keyPath else { throw .invalid("The Austrian profile has no AES key.") }
            known = try Self.loadKey(path: keyPath, mayCreate: mayCreate)
            key.withLock { $0 = known }
        }
        if let fingerprint, !fingerprint.isEmpty, Self.fingerprint(known) != fingerprint {
            key.withLock { $0 = nil }
            throw .invalid("\(keyPath ?? "The AES key") is not the register's AES key (its SHA-256 is \(Self.fingerprint(known).prefix(16))…, the "
                + "register's is \(fingerprint.prefix(16))…): every turnover counter is encrypted with the registered key. Restore it with "
                + "`kassa fiscal at-key restore FILE` from the backup (the one registered with FinanzOnline); nothing was recorded.")
        }
        return known
    }

    /// The hex SHA-256 of a key.
    public static func fingerprint(_ key: [UInt8]) -> String {
        SHA256.hash(data: key).map { String(format: "%02x", $0) }.joined()
    }

    public func code(for receipt: ProfileReceipt, previous: FiscalCode?, module: (any FiscalModule)?, settings: Settings) throws(SessionError) -> FiscalCode {
        guard let module else { throw .invalid("The Austrian profile signs with the fiscal module, and none is configured.") }
        guard let company = settings.regime["at-company-id"], !company.isEmpty else {
            throw .invalid("Set the company's UID for RKSV first: kassa settings set at-company-id U:ATU12345678.")
        }
        let cashBox = settings.regime["at-cashbox-id"].flatMap { $0.isEmpty ? nil : $0 } ?? receipt.terminal
        let type: RKSV.ReceiptType
        switch (receipt.kind, receipt.fiscalType) {
        case ("training", _): type = .training
        case (_, "start"): type = .start
        case (_, "null"): type = .null
        case (_, "storno"), ("refund", _): type = .storno
        default: type = .standard
        }
        if previous == nil, type != .start {
            throw .invalid("The Austrian register starts with its signed start receipt: make one first "
                + "(kassa sale FILE --fiscal-type start, with one line at price 0).")
        }
        if let previous, let last = try? RKSVReceipt(jws: previous.code), receipt.localTime < last.time {
            throw .invalid("The clock reads \(receipt.localTime) (\(settings.timeZone)), before the last RKSV receipt's \(last.time): RKSV receipt "
                + "dates never go back. Set the clock (enable NTP; check the RTC battery) and the time-zone setting, then sell again; "
                + "nothing was recorded.")
        }
        if previous != nil, type == .start { throw .invalid("This register has its start receipt already.") }
        if type == .start, receipt.turnoverAfter != 0 {
            throw .invalid("RKSV's turnover counter is the terminal's grand total, which is \(receipt.turnoverAfter) here: "
                + "the Austrian profile starts on a new terminal (a new database), before its first sale.")
        }
        var amounts = RKSV.Amounts()
        for (rate, gross) in receipt.grossByRate {
            guard let bucket = RKSV.Amounts.bucket(basisPoints: rate) else {
                throw .invalid("RKSV has no bucket for a VAT rate of \(Double(rate) / 100) %; use 20, 10, 13, 19 or 0 %.")
            }
            amounts[keyPath: bucket] += gross
        }
        let recorded = settings.regime[Self.fingerprintSetting].flatMap { $0.isEmpty ? nil : $0 }
        let aes = try aesKey(mayCreate: previous == nil, fingerprint: recorded)
        let register = RKSVRegister(cashBoxID: cashBox, aesKey: aes)
        var failure: FiscalModuleError?
        let jws: String
        do {
            jws = try register.receipt(
                type: type, receiptID: receipt.kind == "training" ? "T\(receipt.number)" : "\(receipt.number)", time: receipt.localTime,
                amounts: amounts, turnover: receipt.turnoverAfter, keyID: Self.keyID(company: company, module: receipt.moduleNumber), previousJWS: previous?.code,
                sign: { input in
                    do { return try module.signRaw(input) } catch {
                        failure = (error as? FiscalModuleError) ?? FiscalModuleError(code: -1, message: "\(error)")
                        return nil
                    }
                })
        } catch {
            throw .invalid("RKSV: \(error)")
        }
        if let failure, type == .start {
            throw .fiscalModuleFailed(serial: module.serial, code: failure.code, message: "the start receipt must be signed: \(failure.message)")
        }
        let qr: String
        do { qr = try RKSV.qrCode(jws: jws) } catch { throw .invalid("RKSV: \(error)") }
        return FiscalCode(profile: name, code: jws, qr: qr, lines: failure == nil ? [] : ["Sicherheitseinrichtung ausgefallen"],
                          signatureFailed: failure != nil, fiscalType: type == .start ? "start" : type == .null ? "null" : type == .storno ? "storno" : nil,
                          keep: recorded == nil ? [Self.fingerprintSetting: Self.fingerprint(aes)] : nil)
    }

    /// A closed system's key id: `<company id>-K<n>`, n the terminal's n-th registered signature device.
    public static func keyID(company: String, module: Int) -> String { "\(company)-K\(module)" }

    /// The register's AES-256 key (registered with FinanzOnline): read from `path`, or, before the first Austrian receipt
    /// only (`mayCreate`), made there (32 random bytes, base64, mode 0600, written whole and fsynced before it is used).
    public static func loadKey(path: String, mayCreate: Bool) throws(SessionError) -> [UInt8] {
        do {
            try PrivateFiles.checkSecret(path, what: "The RKSV AES key")
        } catch {
            throw .invalid(error.message)
        }
        if let data = FileManager.default.contents(atPath: path) {
            guard let text = String(data: data, encoding: .utf8), let key = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  key.count == 32
            else { throw .invalid("\(path) is not a base64 AES-256 key (32 bytes); restore it from the backup registered with FinanzOnline.") }
            return [UInt8](key)
        }
        guard mayCreate else {
            throw .invalid("\(path) is missing, and this register has signed RKSV receipts with it: without it no turnover counter can "
                + "be read or continued. Restore it from the backup (kassa fiscal at-key restore FILE); nothing was recorded.")
        }
        var key = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in key.indices { key[index] = generator.next() }
        do {
            try PrivateFiles.write(Array((Data(key).base64EncodedString() + "\n").utf8), to: path, mode: 0o600, durable: true)
        } catch {
            throw .invalid(error.message)
        }
        return key
    }
}
