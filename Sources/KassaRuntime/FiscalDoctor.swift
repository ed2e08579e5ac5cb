import FiscalProfiles
import Foundation
import SessionEngine
import SoftwareFiscalModule

extension KassaEnvironment {
    /// `kassa doctor`'s checks of the till's fiscal side, when a terminal database exists: the fiscal module's key, the
    /// regime's device or key (the Swedish control unit answers; the Austrian AES key is the register's), and the
    /// control-unit registrations still pending.
    func fiscalChecks(database: String?) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        if config.fiscalPrinter != nil {
            // The configured fiscal printer, end to end: the port opens, the device answers, and it can take a document.
            do {
                let report = try fiscalPrinterReport()
                let what = "\(report.connection): last document \(report.lastDocument)" + (report.fiscalized ? "" : ", not fiscalized")
                if report.fiscalReceiptOpen {
                    checks.append(DoctorCheck(name: "fiscal printer", result: .fail, detail: "\(what); a fiscal receipt is open on the device",
                                              fix: "Kassa finishes or cancels it by what it committed; until then no document can be registered"))
                } else if !report.errors.isEmpty {
                    checks.append(DoctorCheck(name: "fiscal printer", result: .fail, detail: "\(what): " + report.errors.joined(separator: ", "),
                                              fix: "fix what the printer names (paper, cover, fiscal memory), then check again"))
                } else if !report.warnings.isEmpty {
                    checks.append(DoctorCheck(name: "fiscal printer", result: .warn, detail: "\(what): " + report.warnings.joined(separator: ", "),
                                              fix: "load paper or have the journal or fiscal memory serviced before it runs out"))
                } else {
                    checks.append(DoctorCheck(name: "fiscal printer", result: .pass, detail: what))
                }
            } catch {
                checks.append(DoctorCheck(name: "fiscal printer", result: .fail, detail: "\(error)",
                                          fix: "check the printer's cable and power and [fiscal.printer] url in kassa.toml"))
            }
        }
        let path = databasePath(database)
        guard FileManager.default.fileExists(atPath: path) else { return checks }
        func add(_ name: String, _ result: DoctorCheck.Result, _ detail: String, fix: String? = nil) {
            checks.append(DoctorCheck(name: name, result: result, detail: detail, fix: fix))
        }
        let engine: SessionEngine
        let settings: Settings
        do {
            engine = try sessionEngine(database: database, readOnly: true)
            settings = try engine.settings()
        } catch {
            add("till database", .fail, "\(path) cannot be opened: \(error)", fix: "kassa terminal show (it names what to do)")
            return checks
        }
        let modules = (try? engine.fiscalModulesInOrder()) ?? []
        let keyPath = fiscalKeyPath(database)
        if let last = modules.last {
            if let module = try? SoftwareFiscalModule.load(path: keyPath, mayCreate: false) {
                if module.serial == last.serial {
                    add("fiscal module", .pass, "\(module.serial) signs the journal (key \(keyPath))")
                } else {
                    add("fiscal module", .fail, "\(keyPath) holds module \(module.serial), but the terminal's module is \(last.serial)",
                        fix: "restore \(last.serial)'s key from the backup, or kassa fiscal replace-module --reason TEXT --user MANAGER")
                }
            } else {
                add("fiscal module", .fail, "the key of module \(last.serial) (\(keyPath)) is missing or unreadable",
                    fix: "restore it from the backup, or kassa fiscal replace-module --reason TEXT --user MANAGER")
            }
        }
        switch settings.fiscalProfile {
        case "se":
            if let profile = fiscalProfiles(database).compactMap({ $0 as? SwedishProfile }).first {
                do {
                    let status = try profile.unitStatus()
                    let bound = settings.regime[SwedishProfile.boundUnitSetting] ?? ""
                    let what = "\(status.unitID) at \(status.connection): \(status.state), protocol \(status.protocolVersion), firmware \(status.firmware)"
                        + (status.storage.map { ", storage \($0)" } ?? "")
                    if !bound.isEmpty, bound != status.unitID {
                        add("control unit", .fail, "\(what); but this terminal is bound to \(bound)",
                            fix: "connect unit \(bound), or start a new terminal (a new database) for \(status.unitID)")
                    } else if !status.operational || status.storage == "full" {
                        add("control unit", .fail, "\(what): no sale can be registered",
                            fix: "restart the unit; if it stays so, follow the manufacturer's declaration for a unit out of order")
                    } else if status.state == "warning" || status.storage == "high" {
                        add("control unit", .warn, what, fix: "have the supplier check the unit (read out its memory when it is nearly full)")
                    } else {
                        add("control unit", .pass, what + (bound.isEmpty ? " (the terminal is bound to it at the next shift)" : ""))
                    }
                } catch {
                    add("control unit", .fail, "the control unit does not answer (\(error)): no sale can be registered",
                        fix: "check the unit's cable, power and [fiscal.control-unit] url; if it stays down, follow the manufacturer's declaration for a unit out of order")
                }
            }
            let pending = (try? engine.pendingRegistrations()) ?? []
            if pending.isEmpty {
                add("registrations", .pass, "no control-unit registration is pending")
            } else {
                add("registrations", .warn, "\(pending.count) control-unit registration(s) pending: "
                    + pending.map { "\($0.key) (sent \($0.sent)×, \($0.command ?? "?"))" }.joined(separator: ", "),
                    fix: "the next command under the same number re-sends and completes it; repeat the interrupted command with its --id")
            }
        case "at":
            let codes = (try? engine.fiscalCodes(profile: "at").count) ?? 0
            if codes > 0, let profile = fiscalProfiles(database).compactMap({ $0 as? AustrianProfile }).first {
                do {
                    _ = try profile.aesKey(mayCreate: false, fingerprint: settings.regime[AustrianProfile.fingerprintSetting])
                    add("RKSV AES key", .pass, "\(aesKeyPath(database)) is the register's key (\(codes) receipts)")
                } catch {
                    add("RKSV AES key", .fail, "\(error)", fix: "kassa fiscal at-key restore FILE (the backup registered with FinanzOnline)")
                }
            }
        default:
            break
        }
        return checks
    }
}
