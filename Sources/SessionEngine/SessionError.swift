import Foundation

/// Why the session engine refused an operation. A refused operation changes nothing.
public enum SessionError: Error, Equatable, Sendable, CustomStringConvertible {
    case permissionDenied(user: String, permission: Permission)
    case unknownUser(String)
    case sessionAlreadyOpen(id: String, openedBy: String)
    case noOpenSession
    /// A command addressed a shift that is no longer open; `current` is the open one, if any.
    case sessionClosed(id: String, current: String?)
    case wrongTerminal(database: String, machine: String)
    case invalid(String)
    case differenceNeedsApproval(difference: Int64, limit: Int64)
    case notFound(String)
    /// The database holds no terminal, and this open may not create one (read-only, or the terminal is known to exist).
    case noTerminal
    case parkedReceiptsBlockClose([String])
    /// A payment is running (e.g. on a card terminal) on these parked receipts.
    case paymentInProgress([String])
    /// The shift is in a state (opening, closing) that does not allow this.
    case shiftState(id: String, state: String, wanted: String)
    case paymentsDoNotCover(total: Int64, paid: Int64)
    case refundExceedsSale(line: Int, sold: Int64, alreadyReturned: Int64, requested: Int64)
    case copyAlreadyPrinted(receiptNumber: Int64)
    /// The receipt's original was printed (or its print's outcome is unknown), or the fiscal profile allows no late
    /// original; `reason` says which.
    case originalAlreadyPrinted(receiptNumber: Int64, reason: String)
    case staleVersion(current: Int)
    case sessionManagementOff
    /// Closed shifts wait to be posted (handed to accounting), as many as the `max-unposted-shifts` setting allows;
    /// `oldestZ` is the first of them.
    case unpostedShifts(count: Int, limit: Int, oldestZ: Int64)
    /// Another user has the parked receipt open for editing until `until` (`park open`).
    case parkedLeased(id: String, holder: String, until: Date)
    /// The command id was used before for a request with other content (`fields` differ); nothing was done.
    case idempotencyConflict(id: String, fields: [String])
    case database(code: Int32, message: String)
    /// The database file cannot be opened or is not a Kassa database; `code` is SQLite's.
    case databaseUnavailable(path: String, code: Int32, message: String)
    /// The fiscal module did not sign; the fact was not recorded (the failure itself was journaled).
    case fiscalModuleFailed(serial: String, code: Int32, message: String)
    /// The control unit (SE) refused or did not answer; the receipt was not recorded.
    case controlUnitFailed(code: Int32, message: String)
    /// The control unit that answered is not the one this terminal is bound to; nothing was registered or recorded.
    case controlUnitMismatch(bound: String, connected: String)
    /// A registration committed as pending could not be resolved (its command cannot be completed); nothing new is
    /// registered under its number until it is.
    case registrationPending(key: String, message: String)
    /// Internal: the receipt needs its registration sent first (the engine does so and runs the command again).
    case registrationNeeded(ExternalRegistration)
    /// Internal: a registration pending under this key holds other content (a command interrupted after it was sent);
    /// the engine completes that command first.
    case registrationConflict(ExternalRegistration)
    /// The terminal's counters are not where the last journal entry signed them: they were changed outside Kassa. Nothing
    /// is signed on them.
    case stateTampered(String)

    public var description: String {
        switch self {
        case .permissionDenied(let user, let permission):
            return "\(user) may not \(permission.explanation). Ask a manager, or give the role the permission '\(permission.rawValue)'."
        case .unknownUser(let user): return "There is no user '\(user)'. Add one with `kassa user add`."
        case .sessionAlreadyOpen(let id, let openedBy):
            return "Shift \(id) (opened by \(openedBy)) is still open on this terminal; continue it or close it first."
        case .noOpenSession: return "No shift is open on this terminal; open one with `kassa session open`."
        case .sessionClosed(let id, let current):
            return "Shift \(id) is closed; nothing more can be added to it."
                + (current.map { " The open shift is \($0)." } ?? " No shift is open.")
                + " A sale that already happened (a fiscal printer printed it) is recorded with `late` (--late) in the rescue shift."
        case .wrongTerminal(let database, let machine):
            return "This database belongs to terminal \(database), but this machine is terminal \(machine). "
                + "Counters never continue on another device: start a new database here (--database), "
                + "or read the old one's history with read-only commands."
        case .invalid(let reason): return reason
        case .differenceNeedsApproval(let difference, let limit):
            return "The cash difference of \(difference) is beyond the allowed \(limit); a manager must approve it (--approved-by)."
        case .notFound(let what): return "\(what) was not found."
        case .noTerminal: return "This database holds no terminal: it is new or empty."
        case .parkedReceiptsBlockClose(let labels):
            return "Parked receipts block the close: \(labels.joined(separator: ", ")). Finish or void them, or set parked-at-close = defer."
        case .shiftState(let id, let state, let wanted):
            let hint: String
            switch state {
            case "opening": hint = " Count the float first (kassa session confirm --float or --count), or cancel it (kassa session cancel)."
            case "closing": hint = " Finish the close (kassa session close), or go back to selling (kassa session resume)."
            default: hint = ""
            }
            return "Shift \(id) is \(state); this needs it \(wanted)." + hint
        case .paymentInProgress(let labels):
            return "A payment is in progress on \(labels.joined(separator: ", ")); finish it (kassa park finalize) before closing."
        case .paymentsDoNotCover(let total, let paid):
            return "The payments (\(paid)) do not cover the total (\(total)); nothing was recorded."
        case .refundExceedsSale(let line, let sold, let returned, let requested):
            return "Line \(line) sold \(sold) (in thousandths), \(returned) already returned; \(requested) more cannot be refunded."
        case .copyAlreadyPrinted(let number): return "Receipt \(number) already has its one copy."
        case .originalAlreadyPrinted(let number, let reason): return "The original of receipt \(number) cannot be printed: \(reason)."
        case .staleVersion(let current): return "The receipt changed meanwhile (now version \(current)); reload it and try again."
        case .sessionManagementOff: return "Session management is off in the settings."
        case .parkedLeased(let id, let holder, let until):
            return "Parked receipt \(id) is open for editing by \(holder) (lease until \(SessionEngine.timestamp(until))); "
                + "wait until then, or ask \(holder) to release it (kassa park release \(id))."
        case .unpostedShifts(let count, let limit, let oldestZ):
            return "\(count) closed shift\(count == 1 ? "" : "s") wait\(count == 1 ? "s" : "") to be posted (at most \(limit) may); "
                + "a manager posts them first, oldest first: kassa session post --z \(oldestZ) --user MANAGER."
        case .idempotencyConflict(let id, let fields):
            return "Command id \(id) was already used for a request with other content (\(fields.joined(separator: ", ")) "
                + "\(fields.count == 1 ? "differs" : "differ")); nothing was done. A retry must repeat the request exactly; "
                + "a new request needs a new id."
        case .database(let code, let message):
            let advice: String
            switch code {
            case 13: advice = " The disk is full: free space, then repeat the command with the same --id (nothing was recorded)."
            case 5, 6: advice = " Another process held the database for more than 10 s: repeat the command with the same --id."
            case 8: advice = " The database is read-only for this user: run as the till's user."
            case 10: advice = " An I/O error: check the disk (dmesg), then repeat the command with the same --id."
            default: advice = " Nothing was recorded; repeat the command with the same --id."
            }
            return "The database refused the change (SQLite \(code)): \(message)." + advice
        case .fiscalModuleFailed(let serial, let code, let message):
            return "The fiscal module \(serial) did not sign (code \(code): \(message)); nothing was recorded. "
                + "Check the module (kassa journal verify shows its state), then repeat the command with the same --id."
        case .controlUnitFailed(let code, let message):
            return "The control unit did not register the receipt (\(code): \(message)); nothing was recorded. "
                + "Check its cable and power (kassa doctor), then repeat the command with the same --id; "
                + "if it stays down, follow the manufacturer's declaration for a control unit that is out of order."
        case .controlUnitMismatch(let bound, let connected):
            return "This terminal is bound to control unit \(bound), but the unit connected is \(connected); nothing was recorded. "
                + "Connect unit \(bound) (check [fiscal.control-unit] in kassa.toml), or start a new terminal (a new database) for \(connected): "
                + "a register's receipts are never registered in two units."
        case .registrationPending(let key, let message):
            return "A control-unit registration (\(key)) is pending and could not be completed: \(message). Nothing new was registered "
                + "under its number. Run `kassa doctor` for the pending registrations, fix the cause and repeat the command."
        case .registrationNeeded(let registration):
            return "The registration \(registration.key) must be sent to the control unit first."
        case .registrationConflict(let registration):
            return "A registration under \(registration.key) is pending with other content."
        case .stateTampered(let detail):
            return "The terminal's counters were changed outside Kassa: \(detail). Nothing was recorded, and nothing will be signed on "
                + "them. Run `kassa journal verify` for the details, keep a copy of the database, and restore the last good backup."
        case .databaseUnavailable(let path, let code, let message):
            let advice: String
            switch code {
            case 26: advice = "It is not an SQLite database: point --database at the terminal's kassa.sqlite, or move this file away."
            case 14: advice = "Its folder is missing or this user may not open it: create the folder or fix its permissions (ls -l)."
            case 8, 23: advice = "This user may not write it: run as the till's user, or fix the file's owner and mode."
            case 13: advice = "The disk is full: free space on it; nothing was recorded."
            case 11: advice = "The file is damaged: keep a copy, then restore the last backup (no counter may continue elsewhere)."
            default: advice = "Check the file and its folder."
            }
            return "Cannot open the database \(path) (SQLite \(code): \(message)). " + advice
        }
    }
}
