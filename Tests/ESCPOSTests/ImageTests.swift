import ESCPOS
import QRCode
import Raster
import Testing

@Suite("Raster images")
struct ImageTests {
    @Test("a 1×1 black pixel is GS v 0 with one byte 0x80")
    func singlePixel() throws {
        var bitmap = MonoBitmap(width: 1, height: 1)
        bitmap[0, 0] = true
        var writer = ESCPOSWriter(profile: Profiles.noCutter)
        try writer.image(bitmap)
        #expect(writer.bytes == [0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x01, 0x00, 0x80])
    }

    @Test("tall images are split into bands")
    func banding() throws {
        let bitmap = MonoBitmap(width: 16, height: 300)
        var writer = ESCPOSWriter(profile: Profiles.noCutter, options: .init(imageBandHeight: 128))
        try writer.image(bitmap)
        let headers = writer.bytes.indices.filter { i in
            i + 2 < writer.bytes.count && writer.bytes[i] == 0x1D && writer.bytes[i + 1] == 0x76 && writer.bytes[i + 2] == 0x30
        }
        #expect(headers.count == 3)
        let heights = headers.map { Int(writer.bytes[$0 + 6]) + Int(writer.bytes[$0 + 7]) * 256 }
        #expect(heights == [128, 128, 44])
        #expect(writer.bytes.count == 3 * 8 + 2 * 300)
    }

    @Test("real-time commands are disabled around image data where the profile supports GS ( D")
    func realtimeDisabled() throws {
        var bitmap = MonoBitmap(width: 8, height: 1)
        bitmap.bytes = [0xFF]
        var writer = ESCPOSWriter(profile: Profiles.epson)
        try writer.image(bitmap)
        #expect(Array(writer.bytes.prefix(8)) == [0x1D, 0x28, 0x44, 0x03, 0x00, 0x14, 0x01, 0x00])
        #expect(Array(writer.bytes.suffix(8)) == [0x1D, 0x28, 0x44, 0x03, 0x00, 0x14, 0x01, 0x01])
    }

    @Test("image bytes that would read as DLE EOT / DLE DC4 are broken up")
    func scrub() {
        #expect(ESCPOSWriter.scrubRealtimeSequences([0x10, 0x04, 0x01, 0x10, 0x14, 0x10, 0x10, 0x05]) ==
            [0x00, 0x04, 0x01, 0x00, 0x14, 0x10, 0x00, 0x05])
        #expect(ESCPOSWriter.scrubRealtimeSequences([0x10, 0x11, 0x04]) == [0x10, 0x11, 0x04])
    }

    @Test("images wider than the paper are refused, not clipped")
    func tooWide() {
        var writer = ESCPOSWriter(profile: Profiles.noCutter)
        #expect(throws: ESCPOSError.imageTooWide(width: 400, maximum: 384)) {
            try writer.image(MonoBitmap(width: 400, height: 2))
        }
    }

    @Test("threshold dithering and Floyd–Steinberg on a mid-grey field")
    func dithering() {
        let grey = GrayImage(width: 64, height: 64, fill: 128)
        let threshold = grey.monochrome(.threshold, threshold: 128)
        #expect(threshold.blackCount == 0)
        let dark = GrayImage(width: 64, height: 64, fill: 100).monochrome(.threshold)
        #expect(dark.blackCount == 64 * 64)
        let diffused = grey.monochrome(.floydSteinberg)
        let ratio = Double(diffused.blackCount) / Double(64 * 64)
        #expect(ratio > 0.4 && ratio < 0.6)
    }

    @Test("scaling keeps the aspect ratio")
    func scaling() {
        let image = GrayImage(width: 1000, height: 500, fill: 0)
        let scaled = image.scaled(toWidth: 576)
        #expect(scaled.width == 576 && scaled.height == 288)
        #expect(scaled.pixels.allSatisfy { $0 == 0 })
        let up = GrayImage(width: 10, height: 4).scaled(toWidth: 40)
        #expect(up.width == 40 && up.height == 16)
    }

    @Test("QR falls back to a raster image on profiles without native QR")
    func qrFallback() throws {
        var writer = ESCPOSWriter(profile: Profiles.noCutter)
        try writer.qrCode(Array("https://example.com".utf8), moduleSize: 4)
        #expect(writer.bytes.starts(with: [0x1D, 0x76, 0x30, 0x00]))
        #expect(!writer.bytes.contains(0x28) || !writer.bytes.starts(with: [0x1D, 0x28, 0x6B]))
        #expect(writer.warnings.map(\.kind) == [.fallback])
        let symbol = try QRCode(text: "https://example.com")
        let side = (symbol.size + 8) * 4
        #expect(Int(writer.bytes[4]) + Int(writer.bytes[5]) * 256 == (side + 7) / 8)
    }

    @Test("stored logo: print by key where the profile allows it")
    func storedLogo() throws {
        var profile = Profiles.epson
        profile.features.storedLogo = true
        var writer = ESCPOSWriter(profile: profile)
        try writer.printStoredLogo(key: (0x4B, 0x31))
        #expect(writer.bytes == [0x1D, 0x28, 0x4C, 0x06, 0x00, 0x30, 0x45, 0x4B, 0x31, 0x01, 0x01])
        var plain = ESCPOSWriter(profile: Profiles.noCutter)
        #expect(throws: ESCPOSError.self) { try plain.printStoredLogo(key: (0x4B, 0x31)) }
    }
}
