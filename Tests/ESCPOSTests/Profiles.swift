import ESCPOS
import TestSupport

enum Profiles {
    /// The Epson TM-T20III profile from escpos-printer-db.
    static var epson: PrinterProfile { TestSupport.profile("TM-T20III") }
    static var noCutter: PrinterProfile { TestSupport.profile("POS-5890") }

    /// A profile with exactly the given code pages.
    static func withPages(_ pages: [String: String]) -> PrinterProfile {
        var profile = epson
        profile.codePages = pages
        return profile
    }
}
