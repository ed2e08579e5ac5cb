import ESCPOS
@testable import QRCode
import Raster
import Testing
import TestSupport

@Suite("QR code encoder")
struct QRCodeTests {
    @Test("Reed-Solomon codewords of the ISO 18004 example '01234567' (1-M)")
    func isoExample() {
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        let codewords = QRCode.addErrorCorrection(data, version: 1, level: .medium)
        #expect(Array(codewords.suffix(10)) == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
        #expect(Array(codewords.prefix(16)) == data)
    }

    @Test("'01234567' at level M is a version 1 symbol of 21 modules")
    func versionOne() throws {
        let symbol = try QRCode(text: "01234567", errorCorrection: .medium)
        #expect(symbol.version == 1 && symbol.size == 21)
        // Finder pattern corners are dark, the separator next to them light.
        #expect(symbol[0, 0] && symbol[6, 6] && symbol[20, 0] && symbol[0, 20])
        #expect(!symbol[7, 7])
        // Timing pattern alternates.
        #expect((8...12).map { symbol[$0, 6] } == [true, false, true, false, true])
    }

    @Test("capacity limits: version 40-L holds 2953 bytes, one more is refused")
    func capacity() throws {
        let fits = try QRCode(data: [UInt8](repeating: 0x61, count: 2953), errorCorrection: .low)
        #expect(fits.version == 40)
        #expect(throws: QRCode.Failure.dataTooLong(bytes: 2954, level: .low)) {
            try QRCode(data: [UInt8](repeating: 0x61, count: 2954), errorCorrection: .low)
        }
    }

    @Test("the version grows with the data and the error-correction level")
    func growth() throws {
        let low = try QRCode(data: Array(repeating: 0x41, count: 100), errorCorrection: .low)
        let high = try QRCode(data: Array(repeating: 0x41, count: 100), errorCorrection: .high)
        #expect(high.version > low.version)
    }

    @Test("symbols decode with zbar at every level, in byte, alphanumeric and numeric mode", arguments: [
        ("https://kassa.example/r/1042?sum=6145", QRCode.ErrorCorrection.medium),
        ("HELLO WORLD 123", .quartile),
        ("0123456789012345678901234567890", .high),
        ("Żółć € — 收据 — ÅÄÖ", .low),
        (String(repeating: "Kassa receipt data ", count: 40), .medium),
    ])
    func decodes(text: String, level: QRCode.ErrorCorrection) throws {
        let symbol = try QRCode(text: text, errorCorrection: level)
        let bitmap = ESCPOSWriter.rasterize(symbol, moduleSize: 3)
        var gray = GrayImage(width: bitmap.width, height: bitmap.height)
        for y in 0..<bitmap.height { for x in 0..<bitmap.width where bitmap[x, y] { gray[x, y] = 0 } }
        let decoded = try TestSupport.zbar(gray)
        #expect(decoded == ["QR-Code:" + text])
    }
}
