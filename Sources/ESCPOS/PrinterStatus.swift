/// The four real-time status requests of `DLE EOT n`.
public enum StatusQuery: UInt8, Sendable, CaseIterable, Codable {
    case printer = 1
    case offlineCause = 2
    case errorCause = 3
    case rollPaper = 4
}

/// What the printer reported, merged from one or more `DLE EOT` answers. `nil` means not asked.
public struct PrinterStatus: Sendable, Equatable, Codable {
    public enum Paper: String, Sendable, Codable { case ok, nearEnd = "near-end", out }
    public enum ErrorKind: String, Sendable, Codable, CaseIterable, Comparable {
        /// `recoverable`: a mechanical error cleared by removing its cause (DLE EOT 3 bit 2); `autoRecoverable`: one that
        /// clears by itself, such as a print head too hot (bit 6).
        case recoverable, autoRecoverable = "auto-recoverable", unrecoverable, autoCutter = "auto-cutter"
        public static func < (a: ErrorKind, b: ErrorKind) -> Bool { a.rawValue < b.rawValue }
    }

    public var online: Bool?
    /// Level of drawer connector pin 3 (`true` = high). Whether high means open depends on the drawer.
    public var drawerSignalHigh: Bool?
    public var coverOpen: Bool?
    public var paperFedByButton: Bool?
    /// Printing stopped because the paper ran out (`DLE EOT 2` bit 5).
    public var stoppedByPaperEnd: Bool?
    public var errorOccurred: Bool?
    public var paper: Paper?
    public var errors: [ErrorKind]?

    public init() {}

    /// Validity mask shared by all four answers: bits 0, 1, 4 and 7 are fixed to 0, 1, 1, 0.
    public static func isValid(_ byte: UInt8) -> Bool { byte & 0x93 == 0x12 }

    /// Merges the answer to `query`; invalid bytes are rejected and change nothing.
    public mutating func apply(_ byte: UInt8, for query: StatusQuery) throws(ESCPOSError) {
        guard Self.isValid(byte) else { throw .invalidStatusByte(query: query, byte: byte) }
        func bit(_ n: UInt8) -> Bool { byte & (1 << n) != 0 }
        switch query {
        case .printer:
            drawerSignalHigh = bit(2)
            online = !bit(3)
        case .offlineCause:
            coverOpen = bit(2)
            paperFedByButton = bit(3)
            stoppedByPaperEnd = bit(5)
            errorOccurred = bit(6)
        case .errorCause:
            var kinds: [ErrorKind] = []
            if bit(2) { kinds.append(.recoverable) }
            if bit(3) { kinds.append(.autoCutter) }
            if bit(5) { kinds.append(.unrecoverable) }
            if bit(6) { kinds.append(.autoRecoverable) }
            errors = kinds.sorted()
        case .rollPaper:
            if byte & 0x60 == 0x60 {
                paper = .out
            } else if byte & 0x0C == 0x0C {
                paper = .nearEnd
            } else {
                paper = .ok
            }
        }
    }

    public static func parse(_ byte: UInt8, for query: StatusQuery) throws(ESCPOSError) -> PrinterStatus {
        var status = PrinterStatus()
        try status.apply(byte, for: query)
        return status
    }

    /// Why printing now would fail, or nil when nothing known blocks it.
    public var blockingProblem: String? {
        // Every condition that stops printing, in one message: a cashier who closes the cover should not then learn
        // that the paper is out too.
        var problems: [String] = []
        if coverOpen == true { problems.append("the printer cover is open: close it") }
        if paper == .out || stoppedByPaperEnd == true { problems.append("the printer is out of paper: load a new roll") }
        if let errors {
            if errors.contains(.unrecoverable) {
                problems.append("the printer reports an unrecoverable error: switch it off and on, then call service if it persists")
            }
            if errors.contains(.autoCutter) { problems.append("the auto-cutter is jammed: open the cover and clear it") }
            if errors.contains(.recoverable) {
                problems.append("the printer reports a recoverable error: remove the cause (a paper jam), then switch it off and on")
            }
            if errors.contains(.autoRecoverable) {
                problems.append("the printer paused on an auto-recoverable error (the print head is too hot): it resumes by itself; wait a moment")
            }
        }
        if problems.isEmpty, online == false { problems.append("the printer is offline: check the cover, the paper and the power switch") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
