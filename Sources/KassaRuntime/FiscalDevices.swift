import FiscalProfiles
import Foundation
import SessionEngine

/// What `kassa fiscal status` and `kassa fiscal info` show of the terminal's fiscal device.
public struct FiscalDeviceReport: Sendable, Codable {
    /// `control-unit` (Sweden).
    public var device: String
    /// Where it is: the `[fiscal.control-unit]` url, or `simulator` (the in-process stand-in, not a certified unit).
    public var connection: String
    public var simulated: Bool
    public var unitID: String
    public var protocolVersion: Int
    public var firmware: String
    /// `ok`, `warning`, `protocol-error`, `non-fatal-error`, `fatal-error`, `busy`.
    public var state: String
    public var severity: Int
    /// The storage state the unit last reported with a registration in this process (`ok`, `high`, `full`), if any.
    public var storage: String?
    public var operational: Bool
    /// The unit this terminal is bound to (`se-control-unit`), empty before its first shift.
    public var boundUnit: String
    /// Whether the connected unit is the terminal's (or the terminal is not bound yet).
    public var boundMatches: Bool
    /// The serial of the last registration made.
    public var lastSerial: Int64
    public var pendingRegistrations: [PendingRegistration]
}

extension KassaEnvironment {
    /// Reads the control unit now (`SIQ`, `IQ`) and the terminal's side of it: the binding, the serials, what is pending.
    public func fiscalDeviceReport(database: String?) throws(RuntimeError) -> FiscalDeviceReport {
        let unit = controlUnit(database)
        var bound = "", serial: Int64 = 0, pending: [PendingRegistration] = []
        if FileManager.default.fileExists(atPath: databasePath(database)) {
            let engine = try sessionEngine(database: database, readOnly: true)
            let settings = try wrap { () throws(SessionError) in try engine.settings() }
            bound = settings.regime[SwedishProfile.boundUnitSetting] ?? ""
            serial = try wrap { () throws(SessionError) in try engine.lastRegistrationSerial(profile: "se") }
            pending = try wrap { () throws(SessionError) in try engine.pendingRegistrations() }
        }
        let status: ControlUnitStatus
        do {
            status = try unit.status()
        } catch {
            throw .session(.controlUnitFailed(code: error.code, message: error.description))
        }
        return FiscalDeviceReport(
            device: "control-unit", connection: status.connection, simulated: config.controlUnit == nil, unitID: status.unitID,
            protocolVersion: status.protocolVersion, firmware: status.firmware, state: status.state, severity: status.severity,
            storage: status.storage, operational: status.operational && status.storage != "full", boundUnit: bound,
            boundMatches: bound.isEmpty || bound == status.unitID, lastSerial: serial, pendingRegistrations: pending)
    }

    private func wrap<T>(_ body: () throws(SessionError) -> T) throws(RuntimeError) -> T {
        do { return try body() } catch { throw .session(error) }
    }
}
