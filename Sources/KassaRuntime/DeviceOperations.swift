import DeviceTransport
import ESCPOS
import ReceiptPrinter

/// What `kassa status` reports.
public struct StatusReport: Sendable, Codable {
    public var device: String
    public var profile: String
    public var status: PrinterStatus
    /// The drawer as the configured polarity reads the connector signal.
    public var drawerOpen: Bool?
    /// Why printing now would fail, if anything.
    public var problem: String?
    public var ready: Bool { problem == nil }
}

/// What `kassa drawer open` did.
public struct DrawerOutcome: Sendable, Codable {
    public var device: String
    public var pin: Int
    public var onMilliseconds: Int
    public var offMilliseconds: Int
    /// Read back after the pulse where the connection can report it.
    public var drawerOpen: Bool?
    public var note: String?
}

extension KassaEnvironment {
    /// Asks `DLE EOT 1…4`. Where the connection cannot read, this is `statusUnavailable`, never a guess.
    public func status(of device: ResolvedDevice) throws(RuntimeError) -> StatusReport {
        let printer = try openPrinter(device)
        defer { printer.close() }
        return try status(printer, device: device)
    }

    /// `status(of:)` on a connection that is already open (a device owner keeps one while it has work).
    public func status(_ printer: ReceiptPrinter, device: ResolvedDevice) throws(RuntimeError) -> StatusReport {
        let status: PrinterStatus
        do {
            status = try printer.status()
        } catch {
            throw RuntimeError(error)
        }
        return StatusReport(
            device: device.url.description, profile: device.profile.id, status: status,
            drawerOpen: status.drawerSignalHigh.map { $0 == device.drawer.openWhenHigh }, problem: status.blockingProblem)
    }

    /// Pulses the drawer (`ESC p`, 5 bytes), with the configured pin and times unless overridden.
    public func openDrawer(
        _ device: ResolvedDevice, pin: Int?, onMilliseconds: Int?, offMilliseconds: Int?
    ) throws(RuntimeError) -> DrawerOutcome {
        let pinNumber = pin ?? device.drawer.pin
        guard pinNumber == 2 || pinNumber == 5 else {
            throw .layout(.escpos(.parameterOutOfRange(name: "drawer pin", value: pinNumber, allowed: 2...5)))
        }
        let printer = try openPrinter(device)
        defer { printer.close() }
        return try openDrawer(on: printer, device, pin: pinNumber, onMilliseconds: onMilliseconds, offMilliseconds: offMilliseconds)
    }

    /// `openDrawer` on a connection that is already open.
    public func openDrawer(
        on printer: ReceiptPrinter, _ device: ResolvedDevice, pin: Int?, onMilliseconds: Int?, offMilliseconds: Int?
    ) throws(RuntimeError) -> DrawerOutcome {
        let pinNumber = pin ?? device.drawer.pin
        guard pinNumber == 2 || pinNumber == 5 else {
            throw .layout(.escpos(.parameterOutOfRange(name: "drawer pin", value: pinNumber, allowed: 2...5)))
        }
        let on = onMilliseconds ?? device.drawer.onMilliseconds
        let off = offMilliseconds ?? device.drawer.offMilliseconds
        do {
            try printer.pulseDrawer(pin: pinNumber == 2 ? .pin2 : .pin5, onMilliseconds: on, offMilliseconds: off)
        } catch {
            throw RuntimeError(error)
        }
        // What the printer does: ESC p counts in 2 ms steps, and an off time shorter than the on time is the on time.
        let sentOn = on / 2 * 2, sentOff = max(on, off) / 2 * 2
        var outcome = DrawerOutcome(
            device: device.url.description, pin: pinNumber, onMilliseconds: sentOn, offMilliseconds: sentOff, drawerOpen: nil,
            note: sentOff != off ? "the off time was \(off) ms; the printer keeps the pulse off for at least its on time, so \(sentOff) ms was sent" : nil)
        if printer.transport.canRead {
            do {
                let status = try printer.status([.printer])
                outcome.drawerOpen = status.drawerSignalHigh.map { $0 == device.drawer.openWhenHigh }
            } catch {
                outcome.note = "the drawer signal could not be read back: \(error)"
            }
        } else {
            outcome.note = "\(device.url) cannot report the drawer signal"
        }
        return outcome
    }
}
