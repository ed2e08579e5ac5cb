/// The IEEE-1284 status byte the usblp driver reports through `ioctl(LPGETSTATUS)` on `/dev/usb/lpN`.
public struct PortStatus: Sendable, Equatable, Codable {
    public var raw: UInt8

    public init(raw: UInt8) { self.raw = raw }

    /// LP_POUTPA: paper out.
    public var paperOut: Bool { raw & 0x20 != 0 }
    /// LP_PSELECD: the printer is selected (online).
    public var selected: Bool { raw & 0x10 != 0 }
    /// LP_PERRORP is active low: a cleared bit means the printer signals an error.
    public var error: Bool { raw & 0x08 == 0 }
}

/// Transports that can report a port status without the printer's cooperation (the usblp driver does).
public protocol PortStatusReporting {
    /// The port status, or nil where the device does not answer the ioctl.
    func portStatus() throws(TransportError) -> PortStatus?
}
