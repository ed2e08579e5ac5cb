import Foundation
import SessionEngine
import Synchronization

/// The `se` fiscal profile (SKVFS 2014:9): every receipt, copy, training receipt and pro-forma bill is registered in the control unit
/// inside the transaction that finalizes it; the control code and the unit's manufacturing number are stored with the
/// receipt and printed on it. A unit that does not answer refuses the receipt with a clear error: nothing is recorded,
/// and the same command (same id) can be repeated when the unit is back.
public final class SwedishProfile: FiscalProfile {
    public let name = "se"
    public let registersCopies = true
    public let registersProForma = true
    let unit: any ControlUnit
    private let registered = Mutex<Set<String>>([])

    public init(unit: any ControlUnit) {
        self.unit = unit
    }

    public func code(for receipt: ProfileReceipt, previous: FiscalCode?, module: (any FiscalModule)?, settings: Settings) throws(SessionError) -> FiscalCode {
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
        let digits = receipt.localTime.filter(\.isNumber)
        let request = ControlUnitReceipt(
            organisationNumber: organisation, posID: pos, dateTime: String(digits.prefix(12)),
            receiptID: receipt.kind == "training" ? "T\(receipt.number)" : receipt.kind == "proforma" ? "P\(receipt.number)" : "\(receipt.number)", kind: kind,
            total: ControlUnitReceipt.amount(receipt.total), negativeTotal: ControlUnitReceipt.amount(receipt.negativeTotal), vat: vat)
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
}
