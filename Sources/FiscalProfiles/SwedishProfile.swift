import Foundation
import Logging
import SessionEngine

/// The `se` fiscal profile (SKVFS 2014:9): every receipt, copy, training receipt and pro-forma bill is registered in the
/// control unit before it is recorded; the control code and the unit's id are stored with the receipt and printed on
/// it. The engine commits each registration as pending, with its serial, before it is sent and re-sends exactly the same
/// request under the same serial after a failure or a crash, so a receipt number never carries two registrations
/// (decisions 0018, 0028). The terminal is bound to the first unit that answered (`se-control-unit`); another unit is
/// refused. A unit that does not answer refuses the receipt with a clear error; the same command (same id) can be
/// repeated when it is back.
public final class SwedishProfile: FiscalProfile {
    public let name = "se"
    public let registersCopies = true
    public let registersProForma = true
    public static let boundUnitSetting = "se-control-unit"
    /// Training receipts and pro-forma bills have number series of their own; at the unit their ids sit in ranges of
    /// their own (7… and 8…, 12 digits) so that no id is ever given to two receipts. Normal receipts stay below.
    static let trainingIDBase: Int64 = 700_000_000_000, proFormaIDBase: Int64 = 800_000_000_000
    let unit: any ControlUnit
    let logger = Logger(label: "kassa.fiscal.se")

    public init(unit: any ControlUnit) {
        self.unit = unit
    }

    /// The control unit's request for a receipt, built without talking to the unit.
    func request(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ControlUnitReceipt {
        guard let organisation = settings.regime["se-org-number"], !organisation.isEmpty,
              let pos = settings.regime["se-pos-id"], !pos.isEmpty
        else {
            throw .invalid("The Swedish profile needs the organisation number and the register's id: "
                + "kassa settings set se-org-number 5561234567 and se-pos-id KASSA1.")
        }
        let kind: ControlUnitReceipt.Kind = receipt.isCopy ? .copy : receipt.kind == "training" ? .training
            : receipt.kind == "proforma" ? .proForma : .normal
        // Four fixed slots (25, 12, 6, 0 %); a rate the unit has no slot for is refused before anything is sent.
        if let other = receipt.vatByRate.keys.first(where: { !ControlUnitReceipt.vatRates.contains($0) }) {
            throw .invalid("A Swedish control unit registers VAT at 25, 12, 6 and 0 %; this receipt has \(Double(other) / 100) %.")
        }
        let vat = ControlUnitReceipt.vatRates.map { rate in
            ControlUnitReceipt.amount(rate) + ";" + ControlUnitReceipt.amount(receipt.vatByRate[rate] ?? 0)
        }
        let base: Int64 = kind == .training ? Self.trainingIDBase : kind == .proForma ? Self.proFormaIDBase : 0
        let limit: Int64 = base == 0 ? Self.trainingIDBase : 100_000_000_000
        guard receipt.number > 0, receipt.number < limit else {
            throw .invalid("Receipt number \(receipt.number) does not fit the control unit's receipt id.")
        }
        // The receipt's local time in the time-zone setting's zone: the same zone the printed receipt shows.
        let digits = receipt.localTime.filter(\.isNumber)
        let bound = settings.regime[Self.boundUnitSetting].flatMap { $0.isEmpty ? nil : $0 }
        return ControlUnitReceipt(
            organisationNumber: organisation, posID: pos, dateTime: String(digits.prefix(12)), receiptID: String(base + receipt.number),
            kind: kind, total: ControlUnitReceipt.amount(receipt.total), negativeTotal: ControlUnitReceipt.amount(receipt.negativeTotal),
            vat: vat, boundUnit: bound)
    }

    /// A registration: keyed by the unit's receipt kind and receipt id, the request as canonical JSON.
    public func registration(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ExternalRegistration? {
        let request = try request(for: receipt, settings: settings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let payload = try? encoder.encode(request) else { throw .invalid("The control unit's request could not be encoded.") }
        return ExternalRegistration(profile: name, key: "\(request.kind.rawValue):\(request.receiptID)", payload: String(decoding: payload, as: UTF8.self))
    }

    /// Sends a registration under the serial the engine gave it. The unit must be the one the terminal is bound to, and
    /// answer a normal receipt or copy with a control code; a training receipt or pro-forma bill takes none.
    public func send(_ registration: ExternalRegistration) throws(SessionError) -> FiscalCode {
        guard let request = try? JSONDecoder().decode(ControlUnitReceipt.self, from: Data(registration.payload.utf8)) else {
            throw .invalid("The pending registration \(registration.key) is not a control-unit request.")
        }
        guard let serial = registration.serial, serial > 0 else { throw .invalid("The registration \(registration.key) has no serial.") }
        let reply: ControlUnitReply
        do {
            if let bound = request.boundUnit {
                let connected = try unit.currentUnitID()
                guard connected == bound else { throw SessionError.controlUnitMismatch(bound: bound, connected: connected) }
            }
            reply = try unit.register(request, serial: serial)
        } catch let error as SessionError {
            throw error
        } catch let error as ControlUnitError {
            throw .controlUnitFailed(code: error.code, message: error.description)
        } catch {
            throw .invalid("\(error)")
        }
        if let bound = request.boundUnit, reply.unitID != bound { throw .controlUnitMismatch(bound: bound, connected: reply.unitID) }
        var lines = ["Kontrollenhet: \(reply.unitID)"]
        switch (request.kind.hasControlCode, reply.controlCode) {
        case (true, let code?): lines.append("Kontrollkod: \(code)")
        case (true, nil):
            throw .controlUnitFailed(code: -2, message: "CU_REPLY_INVALID: the control unit answered the \(request.kind.rawValue) without a control code")
        case (false, .some):
            // Training receipts and pro-forma bills accept no control code (decision 0028): it is neither stored nor printed.
            logger.warning("the control unit sent a control code for a receipt that takes none; ignored", metadata: ["key": "\(registration.key)"])
        case (false, nil): break
        }
        switch reply.storage {
        case "high": logger.warning("the control unit's memory is nearly full: have it read out", metadata: ["unit": "\(reply.unitID)"])
        case "full": logger.error("the control unit's memory is full: the next receipt will be refused", metadata: ["unit": "\(reply.unitID)"])
        default: break
        }
        let code = request.kind.hasControlCode ? reply.controlCode ?? "" : ""
        return FiscalCode(profile: name, code: code, lines: lines,
                          keep: request.boundUnit == nil ? [Self.boundUnitSetting: reply.unitID] : nil)
    }

    public func code(for receipt: ProfileReceipt, previous: FiscalCode?, module: (any FiscalModule)?, settings: Settings) throws(SessionError) -> FiscalCode {
        guard let registration = try registration(for: receipt, settings: settings) else { throw .invalid("No registration.") }
        return try send(registration)
    }

    /// Before a shift opens: the unit answers, is operational, and is the terminal's (bound to it the first time).
    public func checkDevice(settings: Settings) throws(SessionError) -> [String: String] {
        let status: ControlUnitStatus
        do {
            status = try unit.status()
        } catch {
            throw .controlUnitFailed(code: error.code, message: error.description)
        }
        if let bound = settings.regime[Self.boundUnitSetting], !bound.isEmpty, bound != status.unitID {
            throw .controlUnitMismatch(bound: bound, connected: status.unitID)
        }
        guard status.operational else {
            throw .controlUnitFailed(code: 6, message: "the control unit reports \(status.state) (severity \(status.severity)): it is not operational")
        }
        if status.storage == "full" {
            throw .controlUnitFailed(code: 10, message: "the control unit's memory is full: have the supplier read it out")
        }
        if status.storage == "high" { logger.warning("the control unit's memory is nearly full", metadata: ["unit": "\(status.unitID)"]) }
        return (settings.regime[Self.boundUnitSetting] ?? "").isEmpty ? [Self.boundUnitSetting: status.unitID] : [:]
    }

    /// The unit's status (`kassa doctor`, `kassa fiscal status`).
    public func unitStatus() throws(ControlUnitError) -> ControlUnitStatus { try unit.status() }
}
