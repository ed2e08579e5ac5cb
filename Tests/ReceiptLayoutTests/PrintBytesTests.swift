import ESCPOS
import Foundation
import ReceiptLayout
import Testing
import TestSupport
import VirtualPrinter

/// Issue 13, section 4: the bytes a printer should get.
@Suite("Bytes a printer should get")
struct PrintBytesTests {
    func render(_ document: Document, profile: String = "generic-80mm") throws -> LayoutResult {
        try ReceiptLayout(profile: TestSupport.profile(profile)).render(document, loadImage: LayoutTests.noImages)
    }

    func count(_ needle: [UInt8], in bytes: [UInt8]) -> Int {
        guard bytes.count >= needle.count else { return 0 }
        return (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<($0 + needle.count)]) == needle }.count
    }

    @Test("a trailing cut block and the default cut make one cut, not a blank slip")
    func oneCut() throws {
        let result = try render(Document(currency: "EUR", blocks: [.text(TextBlock("Tack!")), .cut(CutBlock(kind: "partial"))]))
        // GS V 66 n: feed and partial cut.
        #expect(count([0x1D, 0x56, 0x42], in: result.bytes) == 1, "\(result.bytes)")
        var twice = Document(currency: "EUR", blocks: [.text(TextBlock("a")), .cut(CutBlock()), .text(TextBlock("b"))])
        twice.cut = true
        #expect(count([0x1D, 0x56, 0x42], in: try render(twice).bytes) == 2)
    }

    @Test("QR data holding DLE DC4 or DLE EOT never reaches the printer as a real-time command")
    func qrScrubbed() throws {
        let data = "A\u{10}\u{14}\u{01}\u{00}\u{05}B\u{10}\u{04}\u{01}"
        let result = try render(Document(currency: "EUR", blocks: [.qr(QRBlock(data: data))]))
        #expect(count([0x1D, 0x28, 0x6B], in: result.bytes) == 0, "no native GS ( k with this data")
        #expect(count([0x10, 0x14], in: result.bytes) == 0 && count([0x10, 0x04], in: result.bytes) == 0 && count([0x10, 0x05], in: result.bytes) == 0)
        #expect(count([0x1D, 0x76, 0x30], in: result.bytes) >= 1, "printed as an image")
        #expect(result.warnings.contains { $0.message.contains("real-time command") })
        // Plain data still goes native.
        let plain = try render(Document(currency: "EUR", blocks: [.qr(QRBlock(data: "https://example.com/r/1"))]))
        #expect(count([0x1D, 0x28, 0x6B], in: plain.bytes) > 0)
    }

    @Test("an emoji prints one '?' per character, not per code point, and the amount stays in its column")
    func emojiColumns() throws {
        let family = "👨‍👩‍👧‍👦"
        var encoder = TextEncoder(profile: TestSupport.profile("generic-80mm"))
        var out: [UInt8] = []
        let columns = encoder.encode(String(repeating: family, count: 12), into: &out)
        #expect(out == [UInt8](repeating: 0x3F, count: 12) && columns == 12, "\(out)")
        #expect(encoder.warnings.contains { $0.message.contains("printed as one '?'") })
        let document = Document(currency: "EUR", blocks: [.items([Item(name: String(repeating: family, count: 12) + " Kaffe", unitPrice: 350)])])
        let result = try render(document, profile: "generic-58mm")
        let printer = TestSupport.print(result.bytes, profile: TestSupport.profile("generic-58mm"), fonts: nil)
        let line = try #require(printer.elements.compactMap(\.text).first { $0.contains("3,50") })
        #expect(line.count <= 32 && line.hasSuffix("3,50"), "'\(line)' (\(line.count) columns)")
    }

    @Test("a VAT amount wider than its column is printed whole on a line of its own, never cut", arguments: ["generic-58mm", "generic-80mm"])
    func vatColumns(profile: String) throws {
        let document = Document(currency: "EUR", blocks: [.vat([VATRow(rate: "20%", net: 91_666_665, vat: 18_333_333, gross: 109_999_998),
                                                                 VATRow(rate: "10%", net: 1000, vat: 100, gross: 1100)])])
        let result = try render(document, profile: profile)
        let printer = TestSupport.print(result.bytes, profile: TestSupport.profile(profile), fonts: nil)
        let text = printer.elements.compactMap(\.text)
        #expect(text.contains { $0.hasSuffix("1.099.999,98") || $0.hasSuffix("1 099 999,98") || $0.hasSuffix("1,099,999.98") }, "\(text)")
        #expect(text.contains { $0.contains("916.666,65") || $0.contains("916 666,65") || $0.contains("916,666.65") }, "\(text)")
        // The small row still uses the table's columns.
        #expect(text.contains { $0.hasPrefix("10%") && $0.hasSuffix("11,00") || $0.hasPrefix("10%") && $0.hasSuffix("11.00") }, "\(text)")
    }

    @Test("consecutive blocks of one style send no off/on pair between them; a second barcode resends no settings")
    func onlyChanges() throws {
        var document = Document(currency: "EUR", blocks: [.text(TextBlock("Kafé", bold: true)), .text(TextBlock("Ängen", bold: true)),
                                                         .text(TextBlock("plain"))])
        document.cut = false
        let bytes = try render(document).bytes
        #expect(count([0x1B, 0x45, 0x01], in: bytes) == 1 && count([0x1B, 0x45, 0x00], in: bytes) == 1, "\(bytes)")
        let codes = Document(currency: "EUR", blocks: [.barcode(BarcodeBlock(symbology: .ean13, data: "4006381333931")),
                                                       .barcode(BarcodeBlock(symbology: .ean13, data: "4006381333931"))])
        let twice = try render(codes).bytes
        for setting: UInt8 in [0x68, 0x77, 0x66, 0x48] {  // GS h, GS w, GS f, GS H
            #expect(count([0x1D, setting], in: twice) == 1, "GS 0x\(String(setting, radix: 16)) sent \(count([0x1D, setting], in: twice)) times")
        }
        #expect(count([0x1D, 0x6B], in: twice) == 2)
    }

    @Test("a block's lines share one code page when one page covers them all")
    func onePagePerBlock() throws {
        var document = Document(currency: "EUR", blocks: [.text(TextBlock("Съешь ещё\nі ї є ґ"))])
        document.cut = false
        let result = try render(document)
        #expect(count([0x1B, 0x74], in: result.bytes) == 1, "\(result.bytes)")
        #expect(result.warnings.isEmpty, "\(result.warnings)")
        let printer = TestSupport.print(result.bytes, profile: TestSupport.profile("generic-80mm"), fonts: nil)
        #expect(printer.elements.compactMap(\.text) == ["Съешь ещё", "і ї є ґ"])
    }

    @Test("half-width katakana print from a CP932 slot; CP772 and RK1048 come from iconv's tables",
          arguments: [("CT-S651", "ｶﾀｶﾅ", "CP932"), ("TM-L90", "Қазақстан", "RK1048"), ("KR-306", "Ąčęėįšųūž", "CP772")])
    func morePages(profileID: String, text: String, page: String) throws {
        let profile = TestSupport.profile(profileID)
        #expect(profile.codePages.values.contains(page), "\(profileID) has \(page)")
        var encoder = TextEncoder(profile: profile)
        var out: [UInt8] = []
        encoder.encode(text, into: &out)
        #expect(encoder.warnings.isEmpty && !out.contains(0x3F), "\(encoder.warnings)")
        // Read back through the virtual printer: the same text.
        let printer = TestSupport.print([0x1B, 0x40] + out + [0x0A], profile: profile, fonts: nil)
        #expect(printer.elements.compactMap(\.text) == [text])
    }
}
