import ESCPOS
import Foundation
import ImageCodec
import QRCode
import Raster
import Testing
import TestSupport
import VirtualPrinter

@Suite("Virtual printer reads back what the encoder wrote")
struct InterpreterTests {
    let profile = TestSupport.profile("generic-80mm")

    @Test("text and styles come back as written, national characters included")
    func textAndStyles() throws {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        writer.line("Żółć, Smørrebrød, Weißbier, Köttbullar: 5 €")
        writer.setStyle(TextStyle(bold: true))
        writer.text("bold")
        writer.setStyle(TextStyle(underline: .double, width: 2, height: 2, reverse: true, font: .b))
        writer.line("BIG")
        writer.setStyle(.normal)
        writer.setAlignment(.right)
        writer.line("right")
        let printer = TestSupport.print(writer.bytes, profile: profile)
        #expect(printer.notes.isEmpty)
        #expect(printer.elements[0].text == "Żółć, Smørrebrød, Weißbier, Köttbullar: 5 €")
        guard case .line(let runs, _) = printer.elements[1], case .line(_, let alignment) = printer.elements[2] else {
            Issue.record("expected lines")
            return
        }
        #expect(runs == [
            TextRun(text: "bold", style: TextStyle(bold: true)),
            TextRun(text: "BIG", style: TextStyle(bold: false, underline: .double, width: 2, height: 2, reverse: true, font: .b)),
        ])
        #expect(alignment == .right)
    }

    @Test("QR codes, barcodes, images, cuts and drawer pulses come back with their parameters")
    func graphics() throws {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        try writer.qrCode(Array("https://kassa.example".utf8), moduleSize: 6, errorCorrection: .quartile)
        try writer.barcode(.ean13, "400638133393")
        try writer.image(MonoBitmap(width: 200, height: 300))
        writer.cut(.full)
        try writer.drawerPulse(pin: .pin5, onMilliseconds: 60, offMilliseconds: 240)
        let printer = TestSupport.print(writer.bytes, profile: profile)
        let interesting = printer.elements.filter { element in
            if case .line = element { return false }
            return true
        }
        let symbol = try QRCode(text: "https://kassa.example", errorCorrection: .quartile)
        #expect(interesting == [
            .qrCode(data: Array("https://kassa.example".utf8), moduleSize: 6, errorCorrection: 0x32, modules: symbol.size),
            .barcode(symbology: "EAN13", text: "4006381333931"),
            .image(width: 200, height: 300),
            .cut(partial: false),
            .drawerPulse(pin: 5, onMilliseconds: 60, offMilliseconds: 240),
        ])
    }

    @Test("the same stream split at every byte gives the same result")
    func fragmentation() throws {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        writer.line("Łódź € åäö")
        try writer.qrCode(Array("frag".utf8))
        try writer.barcode(.code39, "KASSA-1")
        var bitmap = MonoBitmap(width: 16, height: 4)
        bitmap.bytes = [0x10, 0x04, 0xFF, 0x00, 0xAA, 0x55, 0x10, 0x14]
        try writer.image(bitmap)
        writer.cut()
        let bytes = writer.bytes
        let whole = TestSupport.print(bytes, profile: profile, fonts: nil)
        for split in 1..<bytes.count {
            var printer = VirtualPrinter(profile: profile, fonts: nil)
            printer.receive(Array(bytes[..<split]))
            printer.receive(Array(bytes[split...]))
            printer.finish()
            #expect(printer.elements == whole.elements, "split at \(split)")
        }
    }

    @Test("unknown commands are skipped with a note and printing goes on")
    func unknownCommands() {
        // Unknown ESC/GS commands are taken to have no parameters: the bytes after them print as text.
        let bytes: [UInt8] = [0x1B, 0x40, 0x1B, 0x7E, 0x41, 0x42, 0x0A, 0x1D, 0x7A, 0x43, 0x0A]
        let printer = TestSupport.print(bytes, profile: profile)
        #expect(printer.notes.count == 2)
        #expect(printer.notes[0].contains("ESC 0x7E"))
        #expect(printer.elements.compactMap(\.text) == ["AB", "C"])
    }

    @Test("a stream that ends inside a command is reported, not executed")
    func truncated() {
        let printer = TestSupport.print([0x41, 0x0A, 0x1D, 0x76, 0x30, 0x00, 0x10, 0x00], profile: profile)
        #expect(printer.elements.compactMap(\.text) == ["A"])
        #expect(printer.notes.contains { $0.contains("ended inside a command") })
    }

    @Test("DLE EOT is answered from the simulated status")
    func status() throws {
        var printer = VirtualPrinter(profile: profile, fonts: nil)
        printer.simulatedStatus[.rollPaper] = 0x72
        printer.receive(Command.statusRequest(.printer).bytes + Command.statusRequest(.rollPaper).bytes)
        let answers = printer.takeResponses()
        #expect(answers == [0x12, 0x72])
        var status = PrinterStatus()
        try status.apply(answers[0], for: .printer)
        try status.apply(answers[1], for: .rollPaper)
        #expect(status.paper == .out)
    }

    @Test("the PNG is the profile's dot width and shows glyphs, bold and double size as dots")
    func png() throws {
        var writer = ESCPOSWriter(profile: TestSupport.profile("generic-58mm"))
        writer.initialize()
        writer.line("H")
        let normal = TestSupport.print(writer.bytes, profile: TestSupport.profile("generic-58mm")).renderImage()
        #expect(normal.width == 384)
        var boldWriter = ESCPOSWriter(profile: TestSupport.profile("generic-58mm"))
        boldWriter.initialize()
        boldWriter.setStyle(TextStyle(bold: true))
        boldWriter.line("H")
        let bold = TestSupport.print(boldWriter.bytes, profile: TestSupport.profile("generic-58mm")).renderImage()
        var bigWriter = ESCPOSWriter(profile: TestSupport.profile("generic-58mm"))
        bigWriter.initialize()
        bigWriter.setStyle(TextStyle(width: 2, height: 2))
        bigWriter.line("H")
        let big = TestSupport.print(bigWriter.bytes, profile: TestSupport.profile("generic-58mm")).renderImage()
        func black(_ image: GrayImage) -> Int { image.pixels.filter { $0 == 0 }.count }
        #expect(black(normal) > 20)
        #expect(black(bold) > black(normal))
        #expect(black(big) == 4 * black(normal))
        #expect(big.height > normal.height)
    }

    @Test("QR codes and every barcode type in the PNG decode with zbar", arguments: [
        (BarcodeSymbology.ean13, "400638133393", "EAN-13:4006381333931"),
        (.ean8, "9638507", "EAN-8:96385074"),
        (.upcA, "03600029145", "EAN-13:0036000291452"),  // zbar reports UPC-A as EAN-13 with a leading 0
        (.code39, "KASSA-42", "CODE-39:KASSA-42"),
        (.code128, "Kassa 1042/7", "CODE-128:Kassa 1042/7"),
        (.code128, "20261123", "CODE-128:20261123"),
    ])
    func decodes(symbology: BarcodeSymbology, data: String, expected: String) throws {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        writer.setAlignment(.center)
        try writer.barcode(symbology, data, options: BarcodeOptions(hri: .below, height: 80, moduleWidth: 3))
        writer.feed(lines: 2)
        try writer.qrCode(Array("Kassa \(data)".utf8), moduleSize: 4)
        let image = TestSupport.print(writer.bytes, profile: profile).renderImage()
        let decoded = try TestSupport.zbar(image)
        let qrText = "QR-Code:Kassa \(data)"
        #expect(Set(decoded) == [expected, qrText])
    }

    @Test("a QR code that fell back to a raster image still decodes")
    func rasterQR() throws {
        let noQR = TestSupport.profile("POS-5890")
        var writer = ESCPOSWriter(profile: noQR)
        writer.initialize()
        try writer.qrCode(Array("fallback works".utf8), moduleSize: 5)
        let printer = TestSupport.print(writer.bytes, profile: noQR)
        #expect(printer.elements.contains { if case .image = $0 { return true } else { return false } })
        #expect(try TestSupport.zbar(printer.renderImage()) == ["QR-Code:fallback works"])
    }

    @Test("a stored logo prints after it was stored")
    func storedLogo() throws {
        var profile = self.profile
        profile.features.storedLogo = true
        var logo = MonoBitmap(width: 16, height: 2)
        logo.bytes = [0xFF, 0xFF, 0x00, 0xFF]
        var writer = ESCPOSWriter(profile: profile)
        try writer.printStoredLogo(key: (0x4B, 0x31))
        let printer = TestSupport.print(ESCPOSWriter.storeLogoJob(logo, key: (0x4B, 0x31)) + writer.bytes, profile: profile)
        #expect(printer.elements == [.storedLogo(key: "K1")])
        #expect(printer.notes.isEmpty)
        #expect(printer.renderImage().pixels.filter { $0 == 0 }.count == 24)
    }

    @Test("text preview shows alignment, graphics placeholders and the cut")
    func textPreview() throws {
        var writer = ESCPOSWriter(profile: TestSupport.profile("generic-80mm"))
        writer.initialize()
        writer.setAlignment(.center)
        writer.line("Kassa")
        try writer.qrCode(Array("q".utf8))
        writer.cut()
        let text = TestSupport.print(writer.bytes, profile: TestSupport.profile("generic-80mm")).textPreview()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == String(repeating: " ", count: 21) + "Kassa")
        #expect(text.contains("[QR 21x21: q]"))
        #expect(text.contains("(partial cut)"))
    }
}
