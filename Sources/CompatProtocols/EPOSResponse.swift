/// The printer's condition as the ePOS `<response>` reports it: Epson's ASB bits (service-protocols.md §2.4), set
/// from what Kassa read, never invented.
public struct EPOSCondition: Sendable, Equatable {
    /// The printer answered (false: no connection, or no answer to the status request).
    public var reachable: Bool
    public var online: Bool?
    public var coverOpen: Bool?
    /// `ok`, `near-end` or `out`, as Kassa reports paper.
    public var paper: String?
    /// The drawer read open (Kassa's reading of pin 3, `[devices.NAME] drawer-open-level`).
    public var drawerOpen: Bool?
    /// `recoverable`, `auto-recoverable`, `unrecoverable`, `auto-cutter`.
    public var errors: [String]

    public init(reachable: Bool, online: Bool? = nil, coverOpen: Bool? = nil, paper: String? = nil, drawerOpen: Bool? = nil, errors: [String] = []) {
        self.reachable = reachable
        self.online = online
        self.coverOpen = coverOpen
        self.paper = paper
        self.drawerOpen = drawerOpen
        self.errors = errors
    }

    public enum ASB {
        public static let noResponse: UInt32 = 0x0000_0001
        public static let printSuccess: UInt32 = 0x0000_0002
        public static let drawerKick: UInt32 = 0x0000_0004
        public static let offLine: UInt32 = 0x0000_0008
        public static let coverOpen: UInt32 = 0x0000_0020
        public static let mechanicalError: UInt32 = 0x0000_0400
        public static let autocutterError: UInt32 = 0x0000_0800
        public static let unrecoverableError: UInt32 = 0x0000_2000
        public static let autoRecoverableError: UInt32 = 0x0000_4000
        public static let receiptNearEnd: UInt32 = 0x0002_0000
        public static let receiptEnd: UInt32 = 0x0008_0000
    }

    /// The ASB word: one bit per condition Kassa read; `printed` adds `ASB_PRINT_SUCCESS`.
    public func status(printed: Bool = false) -> UInt32 {
        guard reachable else { return ASB.noResponse }
        var bits: UInt32 = printed ? ASB.printSuccess : 0
        if drawerOpen == true { bits |= ASB.drawerKick }
        if online == false { bits |= ASB.offLine }
        if coverOpen == true { bits |= ASB.coverOpen }
        if errors.contains("recoverable") { bits |= ASB.mechanicalError }
        if errors.contains("auto-cutter") { bits |= ASB.autocutterError }
        if errors.contains("unrecoverable") { bits |= ASB.unrecoverableError }
        if errors.contains("auto-recoverable") { bits |= ASB.autoRecoverableError }
        if paper == "near-end" { bits |= ASB.receiptNearEnd }
        if paper == "out" { bits |= ASB.receiptEnd }
        return bits
    }

    /// Why a print cannot go out, as ePOS names it; nil when nothing read stops it.
    public var failureCode: String? {
        if !reachable { return "EX_BADPORT" }
        if coverOpen == true { return "EPTR_COVER_OPEN" }
        if paper == "out" { return "EPTR_REC_EMPTY" }
        if errors.contains("unrecoverable") { return "EPTR_UNRECOVERABLE" }
        if errors.contains("auto-cutter") { return "EPTR_CUTTER" }
        if errors.contains("recoverable") { return "EPTR_MECHANICAL" }
        if errors.contains("auto-recoverable") { return "EPTR_AUTOMATICAL" }
        if online == false { return "PrintSystemError" }
        return nil
    }
}

/// The SOAP answer of `service.cgi`.
public enum EPOSResponse {
    /// `success`, `code` and `status` (decimal), `battery` 0 (mains printers); `printjobid` echoed when the request had one.
    public static func xml(success: Bool, code: String, status: UInt32, printJobID: String? = nil) -> String {
        var body = "<response xmlns=\"\(EPOSRequest.namespace)\" success=\"\(success)\" code=\"\(escape(code))\" status=\"\(status)\" battery=\"0\""
        if let printJobID {
            body += "><printjobid>\(escape(printJobID))</printjobid></response>"
        } else {
            body += "/>"
        }
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
            + body + "</s:Body></s:Envelope>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
