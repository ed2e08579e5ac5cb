/// The eight status bytes of every reply (bit numbering as ErpNet.FP's driver reads the vendor's table; decision 0029).
public struct DatecsStatus: Equatable, Sendable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes.count == 8 ? bytes : Array((bytes + [UInt8](repeating: 0x80, count: 8)).prefix(8))
    }

    /// All clear (bit 7 of each byte set, as the device writes it).
    public static let clear = DatecsStatus(bytes: [UInt8](repeating: 0x80, count: 8))

    public func bit(_ byte: Int, _ bit: Int) -> Bool { bytes[byte] & (1 << UInt8(bit)) != 0 }
    public mutating func set(_ byte: Int, _ bit: Int, _ on: Bool) {
        if on { bytes[byte] |= 1 << UInt8(bit) } else { bytes[byte] &= ~(1 << UInt8(bit)) }
    }

    public var syntaxError: Bool { bit(0, 0) }
    public var invalidCommand: Bool { bit(0, 1) }
    public var clockNotSet: Bool { bit(0, 2) }
    public var printerFailure: Bool { bit(0, 4) }
    public var generalError: Bool { bit(0, 5) }
    public var coverOpen: Bool { bit(0, 6) }
    public var overflow: Bool { bit(1, 0) }
    public var commandNotPermitted: Bool { bit(1, 1) }
    public var paperEnd: Bool { bit(2, 0) }
    public var nearPaperEnd: Bool { bit(2, 1) }
    public var journalFull: Bool { bit(2, 2) }
    public var fiscalReceiptOpen: Bool { bit(2, 3) }
    public var journalNearlyFull: Bool { bit(2, 4) }
    public var nonFiscalReceiptOpen: Bool { bit(2, 5) }
    public var fiscalMemoryAccessError: Bool { bit(4, 0) }
    public var fiscalMemoryLow: Bool { bit(4, 3) }
    public var fiscalMemoryFull: Bool { bit(4, 4) }
    public var fiscalMemoryError: Bool { bit(4, 5) }
    public var fiscalMemoryMissing: Bool { bit(4, 6) }
    public var fiscalized: Bool { bit(5, 3) }

    /// What stops the device from registering a document, in words.
    public var errors: [String] {
        var list: [String] = []
        if syntaxError { list.append("syntax error") }
        if invalidCommand { list.append("invalid command") }
        if clockNotSet { list.append("the clock is not set") }
        if printerFailure { list.append("printing mechanism failure") }
        if generalError { list.append("general error") }
        if coverOpen { list.append("cover open") }
        if overflow { list.append("overflow") }
        if commandNotPermitted { list.append("command not permitted now") }
        if paperEnd { list.append("out of paper") }
        if journalFull { list.append("electronic journal full") }
        if fiscalMemoryAccessError { list.append("fiscal memory access error") }
        if fiscalMemoryFull { list.append("fiscal memory full") }
        if fiscalMemoryError { list.append("fiscal memory error") }
        if fiscalMemoryMissing { list.append("fiscal memory missing or damaged") }
        return list
    }

    /// What the device warns of.
    public var warnings: [String] {
        var list: [String] = []
        if nearPaperEnd { list.append("paper nearly out") }
        if journalNearlyFull { list.append("electronic journal nearly full") }
        if fiscalMemoryLow { list.append("fiscal memory has room for fewer than 60 reports") }
        return list
    }
}
