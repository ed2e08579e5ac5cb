// Odoo's receipt image, JPEG (base64, as the POS sends it) in and ESC/POS out, as `kassa serve` does it for
// /hw_proxy/default_printer_action: time per receipt, and the printed dots compared with the Odoo IoT box's pipeline
// (Benchmarks/peer/odoo_iot_image.py, measured in the same run) through the virtual printer.
// Usage: OdooImageBench RECEIPT.jpg PEER_BYTES.bin SECONDS OUT_DIR
import CompatProtocols
import ESCPOS
import Foundation
import ImageCodec
import Raster
import VirtualPrinter

let arguments = CommandLine.arguments
guard arguments.count >= 5, let seconds = Double(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: OdooImageBench RECEIPT.jpg PEER_BYTES.bin SECONDS OUT_DIR\n".utf8))
    exit(2)
}
let jpeg = try Data(contentsOf: URL(fileURLWithPath: arguments[1]))
let base64 = jpeg.base64EncodedString()
let peerBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[2])))
let out = URL(fileURLWithPath: arguments[4])
let profile = try JSONDecoder().decode(
    PrinterProfile.self,
    from: Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Hardware/profiles/TM-T20III.json")))

// `--stages`: where the time of one receipt goes (base64, JPEG alone, dithering alone, JPEG dithered while it decodes as
// the service does it, ESC/POS), best of 200.
if arguments.contains("--stages") {
    var best = [Double](repeating: .infinity, count: 5)
    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    for _ in 0..<200 {
        var t = clock.now
        let data = [UInt8](Data(base64Encoded: base64)!)
        best[0] = min(best[0], seconds(t.duration(to: clock.now))); t = clock.now
        let gray = try JPEG.decodeGray(data)
        best[1] = min(best[1], seconds(t.duration(to: clock.now))); t = clock.now
        _ = gray.monochrome(.floydSteinberg)
        best[2] = min(best[2], seconds(t.duration(to: clock.now))); t = clock.now
        let bitmap = try JPEG.decodeGray(data) { pixels, width, height, ready in
            GrayImage.floydSteinbergFollowing(pixels, width: width, height: height, ready: ready)
        }.result!
        best[4] = min(best[4], seconds(t.duration(to: clock.now))); t = clock.now
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        try writer.image(bitmap)
        writer.cut(.partial)
        best[3] = min(best[3], seconds(t.duration(to: clock.now)))
    }
    print("base64 \(best[0] * 1000) ms, jpeg \(best[1] * 1000) ms, dither \(best[2] * 1000) ms, jpeg+dither overlapped \(best[4] * 1000) ms, escpos \(best[3] * 1000) ms")
    exit(0)
}

var count = 0
var bytes: [UInt8] = []
var fastest = Double.infinity
let clock = ContinuousClock()
let start = clock.now
while true {
    let one = clock.now
    bytes = try ReceiptImage.escpos(base64: base64, profile: profile).bytes
    let elapsed = one.duration(to: clock.now)
    fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    count += 1
    let total = start.duration(to: clock.now)
    if total >= .seconds(seconds) {
        let time = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        // The dots each pipeline prints, from the virtual printer (no fonts needed: images only).
        func render(_ job: [UInt8]) -> GrayImage {
            var printer = VirtualPrinter(profile: profile, fonts: nil)
            printer.receive(job)
            printer.finish()
            return printer.renderImage()
        }
        let ours = render(bytes)
        let theirs = render(peerBytes)
        try Data(ImageCodec.encodePNG(ours)).write(to: out.appendingPathComponent("kassa.png"))
        try Data(ImageCodec.encodePNG(theirs)).write(to: out.appendingPathComponent("odoo-iot.png"))
        let source = try JPEG.decodeGray([UInt8](jpeg))
        // Compared over the image's own rows (the feed before the cut differs: Kassa feeds three lines, the box n = 10).
        var differing = 0
        var blackOurs = 0
        var blackTheirs = 0
        let rows = min(source.height, ours.height, theirs.height)
        for y in 0..<rows {
            for x in 0..<min(ours.width, theirs.width) {
                let a = ours[x, y] < 128, b = theirs[x, y] < 128
                if a { blackOurs += 1 }
                if b { blackTheirs += 1 }
                if a != b { differing += 1 }
            }
        }
        // Block averages (8 × 8 dots): dithering moves single dots; the grey each area prints should not move.
        var blockError = 0.0
        var blocks = 0
        for by in stride(from: 0, to: rows - 7, by: 8) {
            for bx in stride(from: 0, to: source.width - 7, by: 8) {
                var a = 0, b = 0
                for y in by..<(by + 8) { for x in bx..<(bx + 8) { if ours[x, y] < 128 { a += 1 }; if theirs[x, y] < 128 { b += 1 } } }
                blockError += Double(abs(a - b)) / 64
                blocks += 1
            }
        }
        let figures: [String: Any] = [
            "receipts": count, "receiptsPerSecond": Double(count) / time, "millisecondsPerReceipt": time / Double(count) * 1000,
            "fastestMilliseconds": fastest * 1000, "bytes": bytes.count, "peerBytes": peerBytes.count,
            "imageWidth": source.width, "imageHeight": source.height, "comparedDots": rows * min(ours.width, theirs.width),
            "differingDots": differing, "blackDotsKassa": blackOurs, "blackDotsPeer": blackTheirs,
            "meanBlockDifference": blocks > 0 ? blockError / Double(blocks) : 0,
        ]
        let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        break
    }
}
