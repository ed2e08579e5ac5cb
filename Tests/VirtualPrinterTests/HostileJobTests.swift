import ESCPOS
import Foundation
import Testing
import TestSupport
import VirtualPrinter

/// Issue 13, section 1: the interpreter treats any byte stream as a printer would: what does not fit is clipped and
/// noted, what it does not know is skipped and noted, and nothing traps.
@Suite("Virtual printer: hostile jobs")
struct HostileJobTests {
    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }

    @Test("a raster image, a QR code and a barcode wider than the paper are clipped and noted", arguments: ["generic-58mm", "generic-80mm"])
    func widerThanPaper(profileID: String) {
        let profile = TestSupport.profile(profileID)
        // GS v 0 of 400 bytes (3,200 dots) × 4 rows, every dot black.
        var job: [UInt8] = [0x1B, 0x40, 0x1D, 0x76, 0x30, 0x00] + Self.le16(400) + Self.le16(4) + [UInt8](repeating: 0xFF, count: 1600)
        // GS ( k: 1,000 bytes at module size 16.
        let data = [UInt8](repeating: 0x41, count: 1000)
        job += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 16]
        job += [0x1D, 0x28, 0x6B] + Self.le16(data.count + 3) + [0x31, 0x50, 0x30] + data + [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]
        // GS k CODE128 of 250 characters at module width 6.
        let code: [UInt8] = [0x7B, 0x42] + [UInt8](repeating: 0x41, count: 248)
        job += [0x1D, 0x77, 6, 0x1D, 0x6B, 73, UInt8(code.count)] + code
        let printer = TestSupport.print(job, profile: profile, fonts: nil)
        let image = printer.renderImage()
        #expect(image.width == profile.paper.dots)
        #expect(printer.notes.contains { $0.contains("raster image of 3200 dots is wider than the paper") }, "\(printer.notes)")
        #expect(printer.notes.contains { $0.contains("QR code of") && $0.contains("wider than the paper") }, "\(printer.notes)")
        #expect(printer.notes.contains { $0.contains("CODE128 barcode of") && $0.contains("wider than the paper") }, "\(printer.notes)")
        // The clipped raster still burnt the full width of its rows.
        #expect(image.pixels.prefix(profile.paper.dots).allSatisfy { $0 == 0 })
    }

    @Test("random command mixes never trap (seeded; the fuzz target runs millions)")
    func randomMixes() {
        var generator = SeededGenerator(seed: 13)
        let profile = TestSupport.profile("generic-80mm")
        for _ in 0..<40 {
            var job: [UInt8] = [0x1B, 0x40]
            for _ in 0..<Int.random(in: 1...10, using: &generator) {
                switch Int.random(in: 0..<6, using: &generator) {
                case 0:
                    let widthBytes = [1, 72, 73, 255, 400].randomElement(using: &generator)!, rows = [1, 8, 300].randomElement(using: &generator)!
                    job += [0x1D, 0x76, 0x30, UInt8.random(in: 0...3, using: &generator)] + Self.le16(widthBytes) + Self.le16(rows)
                    job += (0..<(widthBytes * rows)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 1:
                    let data = (0..<[1, 100, 2900].randomElement(using: &generator)!).map { _ in UInt8.random(in: 0x20...0x7E, using: &generator) }
                    job += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, UInt8.random(in: 0...255, using: &generator)]
                    job += [0x1D, 0x28, 0x6B] + Self.le16(data.count + 3) + [0x31, 0x50, 0x30] + data
                    job += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]
                case 2:
                    job += [0x1D, 0x77, UInt8.random(in: 0...255, using: &generator), 0x1D, 0x68, UInt8.random(in: 0...255, using: &generator)]
                    let n = UInt8.random(in: 0...255, using: &generator)
                    job += [0x1D, 0x6B, 73, n] + (0..<Int(n)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 3:
                    job += [0x1B, 0x24] + Self.le16(Int.random(in: 0...65535, using: &generator)) + [0x58, 0x0A]
                case 4:
                    job += [0x1D, 0x21, UInt8.random(in: 0...255, using: &generator)] + Array("Wide text".utf8) + [0x0A]
                default:
                    job += (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                }
            }
            let printer = TestSupport.print(job, profile: profile, fonts: nil)
            #expect(printer.renderImage().width == profile.paper.dots)
        }
    }

    @Test("the paper is capped at 50,000 dot rows in the PNG, with a note; the text preview goes on")
    func canvasCap() {
        let profile = TestSupport.profile("generic-80mm")
        // 300 feeds of 255 dots (76,500 rows), then a line of text.
        var job: [UInt8] = [0x1B, 0x40]
        for _ in 0..<300 { job += [0x1B, 0x4A, 255] }
        job += Array("the end".utf8) + [0x0A]
        let printer = TestSupport.print(job, profile: profile, fonts: nil)
        #expect(printer.renderImage().height == 50_000)
        #expect(printer.notes.contains { $0.contains("longer than the preview's 50000 dot rows (6250 mm") }, "\(printer.notes)")
        #expect(printer.textPreview().contains("the end"))
    }

    @Test("found by the fuzz target: CODE128 set A with a byte above 0x5F is not drawn, never indexes past the table")
    func code128SetA() throws {
        let crash = try #require(Data(base64Encoded: "HR1QaHcGHWtJPntBQUFDQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB8UFBWFhYSFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWCVYWFhYWFhYWFhYWFhY/////////1hYWFhY"))
        let printer = TestSupport.print([UInt8](crash), profile: TestSupport.profile("generic-80mm"), fonts: nil)
        #expect(printer.notes.contains { $0.contains("CODE128") && $0.contains("could not be drawn") }, "\(printer.notes)")
    }
}
