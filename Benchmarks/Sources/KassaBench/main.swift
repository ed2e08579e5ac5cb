// Encodes the benchmark receipt (Benchmarks/receipt.json + logo.png) as fast as it can and prints JSON figures.
// Usage: KassaBench RECEIPT.json LOGO.png SECONDS
import ESCPOS
import Foundation
import ImageCodec
import Raster
import ReceiptLayout

#if canImport(Glibc)
import Glibc
#endif

struct Spec: Decodable {
    var currency: String
    var header: [String]
    var itemNames: [String]
    var qr: String
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let seconds = Double(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: KassaBench RECEIPT.json LOGO.png SECONDS\n".utf8))
    exit(2)
}
let spec = try JSONDecoder().decode(Spec.self, from: Data(contentsOf: URL(fileURLWithPath: arguments[1])))
let logo = try ImageCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: arguments[2]))))

func document(withLogo: Bool, storedLogo: Bool = false) -> Document {
    var items: [Item] = []
    for i in 0..<40 {
        let name = spec.itemNames[i % 20] + (i >= 20 ? " (2)" : "")
        items.append(Item(name: name, quantity: Quantity(units: Int64(1 + i % 3)), unitPrice: Int64(45 + (i * 37) % 900),
                          vat: i % 2 == 0 ? "A" : "B"))
    }
    let total = items.compactMap(\.lineAmount).reduce(0, +)
    let grossA = items.enumerated().filter { $0.offset % 2 == 0 }.compactMap(\.element.lineAmount).reduce(0, +)
    let grossB = total - grossA
    let paid = (total / 1000 + 1) * 1000
    var blocks: [Block] = []
    if withLogo {
        var image = ImageBlock(file: "logo.png")
        if storedLogo { image.storedKey = "K1" }
        blocks.append(.image(image))
    }
    blocks.append(.text(TextBlock(spec.header[0], align: .center, bold: true, size: .init(width: 2, height: 2))))
    for line in spec.header.dropFirst() { blocks.append(.text(TextBlock(line, align: .center))) }
    blocks += [.separator(SeparatorBlock()), .items(items), .separator(SeparatorBlock()),
               .totals(Totals(label: "SUMME", total: total)),
               .payments([Payment(method: "Bar", amount: paid), Payment(method: "Rückgeld", amount: total - paid)]),
               .separator(SeparatorBlock()),
               .vat([VATRow(rate: "A 20%", net: grossA * 100 / 120, vat: grossA - grossA * 100 / 120, gross: grossA),
                     VATRow(rate: "B 10%", net: grossB * 100 / 110, vat: grossB - grossB * 100 / 110, gross: grossB)]),
               .text(TextBlock("Danke für Ihren Einkauf!", align: .center)),
               .qr(QRBlock(data: spec.qr, moduleSize: 4, errorCorrection: "M"))]
    return Document(currency: spec.currency, blocks: blocks)
}

// `--emit-document`: the text-only benchmark receipt as a kassa.document/1, for the service benchmark (serve-load).
if arguments.contains("--emit-document") {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    FileHandle.standardOutput.write(try encoder.encode(document(withLogo: false)))
    exit(0)
}

let profile = try JSONDecoder().decode(
    PrinterProfile.self,
    from: Data(contentsOf: URL(fileURLWithPath: arguments[1]).deletingLastPathComponent()
        .appendingPathComponent("../Hardware/profiles/TM-T20III.json")))

func measure(_ document: Document, cache: ImageCache?) throws -> (rate: Double, bytes: Int) {
    let layout = ReceiptLayout(profile: profile, options: .init(imageCache: cache))
    var count = 0
    var size = 0
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        let result = try layout.render(document) { (_: ImageBlock) throws(LayoutError) -> GrayImage in logo }
        size = result.bytes.count
        count += 1
        if count % 16 == 0 {
            let elapsed = clock.now - start
            let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if secondsElapsed >= seconds { return (Double(count) / secondsElapsed, size) }
        }
    }
}

if arguments.count == 5, arguments[4] == "--profile-text" {
    // For callgrind: only the text receipt, a fixed number of times.
    let layout = ReceiptLayout(profile: profile)
    let doc = document(withLogo: false)
    var total = 0
    for _ in 0..<2000 { total += try layout.render(doc) { (_: ImageBlock) throws(LayoutError) -> GrayImage in logo }.bytes.count }
    print(total)
    exit(0)
}
if arguments.count == 5, arguments[4] == "--transport" {
    let figures = try TransportBench.run(profile: profile)
    print(String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self))
    exit(0)
}
if arguments.count == 5, arguments[4] == "--breakdown" {
    // Which blocks cost what: the text receipt with one kind of block at a time.
    let full = document(withLogo: false)
    var kinds: [(String, (Block) -> Bool)] = [("nothing", { _ in false })]
    kinds.append(("items", { if case .items = $0 { return true } else { return false } }))
    kinds.append(("text", { if case .text = $0 { return true } else { return false } }))
    kinds.append(("vat", { if case .vat = $0 { return true } else { return false } }))
    kinds.append(("qr", { if case .qr = $0 { return true } else { return false } }))
    kinds.append(("totals+payments+separators", { block in
        switch block {
        case .totals, .payments, .separator: return true
        default: return false
        }
    }))
    for (name, keep) in kinds {
        var doc = full
        doc.blocks = full.blocks!.filter(keep)
        let result = try measure(doc, cache: nil)
        print(name, Int(result.rate), "receipts/s", Int(1e9 / result.rate), "ns")
    }
    exit(0)
}
let withLogoUncached = try measure(document(withLogo: true), cache: nil)
let withLogoCached = try measure(document(withLogo: true), cache: ImageCache())
let withoutLogo = try measure(document(withLogo: false), cache: nil)
var nvProfile = profile
nvProfile.features.storedLogo = true
let storedLogoBytes = try ReceiptLayout(profile: nvProfile).render(document(withLogo: true, storedLogo: true)) {
    (_: ImageBlock) throws(LayoutError) -> GrayImage in logo
}.bytes.count
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let figures: [String: Any] = [
    "implementation": "Kassa (release build)",
    "receiptsPerSecondWithLogo": (withLogoUncached.rate * 10).rounded() / 10,
    "receiptsPerSecondWithCachedLogo": (withLogoCached.rate * 10).rounded() / 10,
    "receiptsPerSecondWithoutLogo": (withoutLogo.rate * 10).rounded() / 10,
    "bytesWithLogo": withLogoUncached.bytes,
    "bytesWithoutLogo": withoutLogo.bytes,
    "bytesWithStoredLogo": storedLogoBytes,
    "peakRSSKiB": usage.ru_maxrss,
]
let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
