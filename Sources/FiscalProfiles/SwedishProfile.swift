import Foundation
import SessionEngine
import Synchronization

/// The `se` fiscal profile (SKVFS 2014:9): every receipt, copy, training receipt and pro-forma bill is registered in the
/// control unit before it is recorded; the control code and the unit's manufacturing number are stored with the receipt
/// and printed on it. The engine commits each registration as pending before it is sent and re-sends exactly the same
/// request after a failure or a crash, so a receipt number never carries two registrations (decision 0018). A unit that
/// does not answer refuses the receipt with a clear error; the same command (same id) can be repeated when it is back.
public final class SwedishProfile: FiscalProfile {
    public let name = "se"
    public let registersCopies = true
    public let registersProForma = true
    let unit: any ControlUnit
    private let registered = Mutex<Set<String>>([])

    public init(unit: any ControlUnit) {
        self.unit = unit
    }

    /// The control unit's request for a receipt (CleanCash's fields), built without talking to the unit.
    func request(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ControlUnitReceipt {
        guard let organisation = settings.regime["se-org-number"], !organisation.isEmpty,
              let pos = settings.regime["se-pos-id"], !pos.isEmpty
        else {
            throw .invalid("The Swedish profile needs the organisation number and the register's id: "
                + "kassa settings set se-org-number 5561234567 and se-pos-id KASSA1.")
        }
        let kind: ControlUnitReceipt.Kind = receipt.isCopy ? .copy : receipt.kind == "training" ? .training
            : receipt.kind == "proforma" ? .proForma : .normal
        let vat = receipt.vatByRate.keys.sorted(by: >).map { rate in
            ControlUnitReceipt.amount(rate) + ";" + ControlUnitReceipt.amount(receipt.vatByRate[rate] ?? 0)
        }
        guard vat.count <= 4 else { throw .invalid("A Swedish control unit takes at most four VAT rates on one receipt; this one has \(vat.count).") }
        // The receipt's local time in the time-zone setting's zone: the same zone the printed receipt shows.
        let digits = receipt.localTime.filter(\.isNumber)
        return ControlUnitReceipt(
            organisationNumber: organisation, posID: pos, dateTime: String(digits.prefix(12)),
            receiptID: receipt.kind == "training" ? "T\(receipt.number)" : receipt.kind == "proforma" ? "P\(receipt.number)" : "\(receipt.number)", kind: kind,
            total: ControlUnitReceipt.amount(receipt.total), negativeTotal: ControlUnitReceipt.amount(receipt.negativeTotal), vat: vat)
    }

    /// A registration: keyed by the unit's receipt kind and receipt id, the request as canonical JSON.
    public func registration(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ExternalRegistration? {
        let request = try request(for: receipt, settings: settings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let payload = try? encoder.encode(request) else { throw .invalid("The control unit's request could not be encoded.") }
        return ExternalRegistration(profile: name, key: "\(request.kind.rawValue):\(request.receiptID)", payload: String(decoding: payload, as: UTF8.self))
    }

    /// Sends a registration (registering the POS first when this process has not): the unit answers a repeat of the same
    /// request with the same code.
    public func send(_ registration: ExternalRegistration) throws(SessionError) -> FiscalCode {
        guard let request = try? JSONDecoder().decode(ControlUnitReceipt.self, from: Data(registration.payload.utf8)) else {
            throw .invalid("The pending registration \(registration.key) is not a control-unit request.")
        }
        let organisation = request.organisationNumber, pos = request.posID
        do {
            let key = organisation + "/" + pos
            if !registered.withLock({ $0.contains(key) }) {
                try unit.registerPOS(organisationNumber: organisation, posID: pos)
                _ = registered.withLock { $0.insert(key) }
            }
            let reply: ControlUnitReply
            do {
                reply = try unit.sendReceipt(request)
            } catch where error.code == 7 {
                // NAK 007 (invalid POS id): the unit lost the registration (restarted, replaced): register again, once.
                try unit.registerPOS(organisationNumber: organisation, posID: pos)
                reply = try unit.sendReceipt(request)
            }
            return FiscalCode(profile: name, code: reply.controlCode, lines: ["Kontrollenhet: \(reply.unitID)", "Kontrollkod: \(reply.controlCode)"])
        } catch {
            throw .controlUnitFailed(code: error.code, message: error.message)
        }
    }

    public func code(for receipt: ProfileReceipt, previous: FiscalCode?, module: (any FiscalModule)?, settings: Settings) throws(SessionError) -> FiscalCode {
        guard let registration = try registration(for: receipt, settings: settings) else { throw .invalid("No registration.") }
        return try send(registration)
    }

    /// Whether the unit answers (`CheckStatus`), for `kassa doctor` and the start of a shift.
    public func checkUnit() throws(ControlUnitError) { try unit.checkStatus() }
}
