import ESCPOS
import Testing

/// Golden bytes for every command, from Docs reference `shared/reference/escpos.md` §1, §3, §4.
@Suite("ESC/POS command bytes")
struct CommandBytesTests {
    @Test(arguments: [
        (Command.initialize, [0x1B, 0x40]),
        (.cancelKanjiMode, [0x1C, 0x2E]),
        (.bold(true), [0x1B, 0x45, 0x01]),
        (.bold(false), [0x1B, 0x45, 0x00]),
        (.underline(.none), [0x1B, 0x2D, 0x00]),
        (.underline(.single), [0x1B, 0x2D, 0x01]),
        (.underline(.double), [0x1B, 0x2D, 0x02]),
        (.characterSize(width: 2, height: 1), [0x1D, 0x21, 0x10]),
        (.characterSize(width: 1, height: 2), [0x1D, 0x21, 0x01]),
        (.characterSize(width: 2, height: 2), [0x1D, 0x21, 0x11]),
        (.characterSize(width: 3, height: 3), [0x1D, 0x21, 0x22]),
        (.reverse(true), [0x1D, 0x42, 0x01]),
        (.reverse(false), [0x1D, 0x42, 0x00]),
        (.font(.a), [0x1B, 0x4D, 0x00]),
        (.font(.b), [0x1B, 0x4D, 0x01]),
        (.align(.left), [0x1B, 0x61, 0x00]),
        (.align(.center), [0x1B, 0x61, 0x01]),
        (.align(.right), [0x1B, 0x61, 0x02]),
        (.defaultLineSpacing, [0x1B, 0x32]),
        (.lineSpacing(40), [0x1B, 0x33, 0x28]),
        (.lineFeed, [0x0A]),
        (.absolutePosition(300), [0x1B, 0x24, 0x2C, 0x01]),
        (.feedLines(6), [0x1B, 0x64, 0x06]),
        (.feedDots(12), [0x1B, 0x4A, 0x0C]),
        (.cut(.full), [0x1D, 0x56, 0x00]),
        (.cut(.partial), [0x1D, 0x56, 0x01]),
        (.feedAndCut(.full, feed: 3), [0x1D, 0x56, 0x41, 0x03]),
        (.feedAndCut(.partial, feed: 0), [0x1D, 0x56, 0x42, 0x00]),
        (.selectCodePage(19), [0x1B, 0x74, 0x13]),
        (.selectCodePageStar(4), [0x1B, 0x1D, 0x74, 0x04]),
        (.beep(times: 2, duration: 3), [0x1B, 0x42, 0x02, 0x03]),
        (.drawerPulse(.pin2, on: 0x32, off: 0x32), [0x1B, 0x70, 0x00, 0x32, 0x32]),
        (.drawerPulse(.pin5, on: 0x19, off: 0xFA), [0x1B, 0x70, 0x01, 0x19, 0xFA]),
        (.statusRequest(.printer), [0x10, 0x04, 0x01]),
        (.statusRequest(.offlineCause), [0x10, 0x04, 0x02]),
        (.statusRequest(.errorCause), [0x10, 0x04, 0x03]),
        (.statusRequest(.rollPaper), [0x10, 0x04, 0x04]),
        (.realtimePulseCommand(enabled: false), [0x1D, 0x28, 0x44, 0x03, 0x00, 0x14, 0x01, 0x00]),
        (.barcodeHRIPosition(.below), [0x1D, 0x48, 0x02]),
        (.barcodeHRIFont(.a), [0x1D, 0x66, 0x00]),
        (.barcodeHeight(0x40), [0x1D, 0x68, 0x40]),
        (.barcodeModuleWidth(3), [0x1D, 0x77, 0x03]),
    ] as [(Command, [UInt8])])
    func commandBytes(command: Command, expected: [UInt8]) {
        #expect(command.bytes == expected)
    }

    @Test("native QR for \"1234\", model 2, size 3, level L matches the reference sequence")
    func nativeQR() throws {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        try writer.qrCode(Array("1234".utf8), moduleSize: 3, errorCorrection: .low)
        let expected: [UInt8] = [
            0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
            0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x03,
            0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x30,
            0x1D, 0x28, 0x6B, 0x07, 0x00, 0x31, 0x50, 0x30, 0x31, 0x32, 0x33, 0x34,
            0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
            0x0A,
        ]
        #expect(writer.bytes == expected)
        #expect(writer.warnings.isEmpty)
    }

    @Test("QR data longer than 255 bytes uses both length bytes")
    func longQRLength() throws {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        let data = [UInt8](repeating: 0x41, count: 300)
        try writer.qrCode(data)
        let store = writer.bytes[25..<33]
        #expect(Array(store) == [0x1D, 0x28, 0x6B, 0x2F, 0x01, 0x31, 0x50, 0x30])  // 303 = 0x012F
    }

    @Test("EAN-13 with function A matches python-escpos' worked example")
    func ean13FunctionA() throws {
        var profile = Profiles.epson
        profile.features.barcodeB = false
        var writer = ESCPOSWriter(profile: profile)
        writer.setAlignment(.center)
        try writer.barcode(.ean13, "4006381333931", options: BarcodeOptions(hri: .below, hriFont: .a, height: 64, moduleWidth: 3))
        var expected: [UInt8] = [0x1B, 0x61, 0x01, 0x1D, 0x68, 0x40, 0x1D, 0x77, 0x03, 0x1D, 0x66, 0x00, 0x1D, 0x48, 0x02]
        expected += [0x1D, 0x6B, 0x02]
        expected += Array("4006381333931".utf8)
        expected.append(0x00)
        #expect(writer.bytes == expected)
    }

    @Test("barcodes use function B with a length byte where the profile has it")
    func functionB() throws {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        try writer.barcode(.ean8, "9638507", options: BarcodeOptions(hri: .none, height: 50, moduleWidth: 2))
        let ean8: [UInt8] = [0x1D, 0x6B, 0x44, 0x08] + Array("96385074".utf8)
        #expect(Array(writer.bytes.suffix(12)) == ean8)
        var code128 = ESCPOSWriter(profile: Profiles.epson)
        try code128.barcode(.code128, "Kassa{1}")
        let code: [UInt8] = [0x1D, 0x6B, 0x49, 0x0B, 0x7B, 0x42] + Array("Kassa{{1}".utf8)
        #expect(Array(code128.bytes.suffix(15)) == code)
        var digits = ESCPOSWriter(profile: Profiles.epson)
        try digits.barcode(.code128, "123456")
        #expect(Array(digits.bytes.suffix(9)) == [0x1D, 0x6B, 0x49, 0x05, 0x7B, 0x43, 12, 34, 56])
    }

    @Test(arguments: [
        (BarcodeSymbology.ean13, "400638133393", "4006381333931"),
        (.ean13, "4006381333931", "4006381333931"),
        (.ean8, "9638507", "96385074"),
        (.upcA, "03600029145", "036000291452"),
    ])
    func checkDigits(symbology: BarcodeSymbology, input: String, expected: String) throws {
        #expect(try Barcode.payload(symbology, input) == Array(expected.utf8))
    }

    @Test(arguments: [
        (BarcodeSymbology.ean13, "4006381333932"),  // wrong check digit
        (.ean13, "40063813339"),  // too short
        (.ean8, "96385A7"),
        (.code39, "lowercase"),
        (.code128, "tab\there"),
        (.code128, ""),
    ])
    func invalidBarcodes(symbology: BarcodeSymbology, input: String) {
        #expect(throws: ESCPOSError.self) { try Barcode.payload(symbology, input) }
    }

    @Test("drawer pulse is always the 5-byte form with times in 2 ms steps")
    func drawerPulse() throws {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        try writer.drawerPulse(pin: .pin2, onMilliseconds: 100, offMilliseconds: 100)
        try writer.drawerPulse(pin: .pin5, onMilliseconds: 50, offMilliseconds: 500)
        #expect(writer.bytes == [0x1B, 0x70, 0x00, 0x32, 0x32, 0x1B, 0x70, 0x01, 0x19, 0xFA])
        #expect(throws: ESCPOSError.parameterOutOfRange(name: "drawer on time (ms)", value: 600, allowed: 2...510)) {
            try writer.drawerPulse(onMilliseconds: 600)
        }
        var noDrawer = Profiles.epson
        noDrawer.features.drawerPulse = false
        var other = ESCPOSWriter(profile: noDrawer)
        #expect(throws: ESCPOSError.self) { try other.drawerPulse() }
        #expect(other.bytes.isEmpty)
    }

    @Test("the beeper is gated on the profile")
    func beeper() throws {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        #expect(throws: ESCPOSError.self) { try writer.beep() }
        var withBeeper = Profiles.epson
        withBeeper.features.beeper = true
        var beeping = ESCPOSWriter(profile: withBeeper)
        try beeping.beep(times: 3, durationMilliseconds: 200)
        #expect(beeping.bytes == [0x1B, 0x42, 0x03, 0x04])
    }

    @Test("cut falls back to the other kind, or to a feed on printers without a cutter")
    func cutFallback() {
        var epson = ESCPOSWriter(profile: Profiles.epson)
        epson.cut(.full)
        #expect(epson.bytes == [0x1D, 0x56, 0x41, 0x03])
        var partialOnly = Profiles.epson
        partialOnly.features.fullCut = false
        var writer = ESCPOSWriter(profile: partialOnly)
        writer.cut(.full)
        #expect(writer.bytes == [0x1D, 0x56, 0x42, 0x03])
        var tearOff = ESCPOSWriter(profile: Profiles.noCutter)
        tearOff.cut()
        #expect(tearOff.bytes == [0x1B, 0x64, 0x04])
    }

    @Test("style changes send only what differs")
    func styleDiffing() {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        writer.setStyle(TextStyle(bold: true))
        writer.setStyle(TextStyle(bold: true))
        writer.setStyle(TextStyle(bold: true, width: 2, height: 2))
        writer.setStyle(TextStyle(bold: true, underline: .double, width: 2, height: 2, reverse: true, font: .b))
        writer.setStyle(.normal)
        #expect(writer.bytes == [
            0x1B, 0x45, 0x01,
            0x1D, 0x21, 0x11,
            0x1B, 0x4D, 0x01, 0x1B, 0x2D, 0x02, 0x1D, 0x42, 0x01,
            0x1B, 0x4D, 0x00, 0x1B, 0x45, 0x00, 0x1B, 0x2D, 0x00, 0x1D, 0x21, 0x00, 0x1D, 0x42, 0x00,
        ])
    }

    @Test("column gaps become one ESC $ jump on left-aligned lines, spaces otherwise")
    func columnJumps() {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        writer.line(segments: [(0, "Kaffe"), (44, "3,50")])
        var expected: [UInt8] = Array("Kaffe".utf8)
        expected += [0x1B, 0x24, 0x10, 0x02]  // column 44 × 12 dots = 528
        expected += Array("3,50".utf8)
        expected.append(0x0A)
        #expect(writer.bytes == expected)
        var short = ESCPOSWriter(profile: Profiles.epson)
        short.line(segments: [(0, "ab"), (5, "c")])
        #expect(short.bytes == Array("ab   c\n".utf8))
        var noJumps = Profiles.epson
        noJumps.features.absolutePosition = false
        var padded = ESCPOSWriter(profile: noJumps)
        padded.line(segments: [(0, "Kaffe"), (44, "3,50")])
        #expect(padded.bytes == Array(("Kaffe" + String(repeating: " ", count: 39) + "3,50\n").utf8))
        var centered = ESCPOSWriter(profile: Profiles.epson)
        centered.setAlignment(.center)
        centered.line(segments: [(0, "a"), (10, "b")])
        #expect(!centered.bytes.contains(0x24))
    }

    @Test("alignment is sent once and ends a pending line first")
    func alignment() {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        writer.setAlignment(.left)
        writer.text("ab")
        writer.setAlignment(.center)
        writer.setAlignment(.center)
        #expect(writer.bytes == [0x61, 0x62, 0x0A, 0x1B, 0x61, 0x01])
    }

    @Test("initialize cancels Kanji mode on profiles that ask for it, and forgets the code page")
    func initialize() {
        var profile = Profiles.epson
        profile.features.cancelKanjiMode = true
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        writer.text("é")
        writer.initialize()
        writer.text("é")
        #expect(writer.bytes == [0x1B, 0x40, 0x1C, 0x2E, 0x1B, 0x74, 0x00, 0x82, 0x1B, 0x40, 0x1C, 0x2E, 0x1B, 0x74, 0x00, 0x82])
    }
}
