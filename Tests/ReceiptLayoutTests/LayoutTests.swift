import ESCPOS
import Foundation
import Raster
import ReceiptLayout
import Testing
import TestSupport
import VirtualPrinter

@Suite("Receipt layout")
struct LayoutTests {
    static func noImages(_ block: ImageBlock) throws(LayoutError) -> GrayImage {
        throw LayoutError.image(source: "test", reason: "no images in this test")
    }

    func lines(_ document: Document, profile: String, font: TextStyle.Font = .a) throws -> [String] {
        let layout = ReceiptLayout(profile: TestSupport.profile(profile), options: .init(font: font))
        let result = try layout.render(document, loadImage: Self.noImages)
        let printer = TestSupport.print(result.bytes, profile: TestSupport.profile(profile), fonts: nil)
        #expect(printer.notes.isEmpty, "\(printer.notes)")
        return printer.elements.compactMap(\.text)
    }

    static let longName = Item(name: "Ekologisk havredryck barista, 1 liter, extra krämig", unitPrice: 2495)

    @Test("amounts end in the last column and long names wrap without touching them",
          arguments: [("generic-58mm", TextStyle.Font.a, 32), ("generic-58mm", .b, 42), ("generic-80mm", .a, 48), ("generic-80mm", .b, 64)])
    func columns(profile: String, font: TextStyle.Font, width: Int) throws {
        var document = Document(currency: "SEK", blocks: [.items([Self.longName, Item(name: "Bulle", unitPrice: 1200)])])
        document.cut = false
        let printed = try lines(document, profile: profile, font: font)
        #expect(printed.allSatisfy { $0.count <= width })
        #expect(printed[0].count == width && printed[0].hasSuffix(" 24,95"))
        let amountColumn = width - "24,95".count
        for continuation in printed.dropFirst().prefix(while: { !$0.hasPrefix("Bulle") }) {
            #expect(continuation.count < amountColumn, "'\(continuation)' runs into the amount column")
        }
        let bulle = try #require(printed.first { $0.hasPrefix("Bulle") })
        #expect(bulle.count == width && bulle.hasSuffix("12,00"))
        // Nothing of the name is lost.
        let words = printed.prefix(while: { !$0.hasPrefix("Bulle") }).joined(separator: " ")
        for word in Self.longName.name.split(separator: " ") { #expect(words.contains(word)) }
    }

    @Test("quantity, unit price and discount lines")
    func itemDetails() throws {
        var weighed = Item(name: "Ost", quantity: Quantity(parsing: "0,456"), unitPrice: 2990)
        weighed.unit = "kg"
        var discounted = Item(name: "Kaffe", quantity: Quantity(units: 2), unitPrice: 420)
        discounted.discount = .init(amount: 84, reason: "Stammkunde")
        var document = Document(currency: "EUR", blocks: [.items([weighed, discounted])])
        document.cut = false
        let printed = try lines(document, profile: "generic-80mm")
        #expect(printed == [
            "Ost" + String(repeating: " ", count: 40) + "13,63",
            "  0,456 kg x 29,90/kg",
            "Kaffe" + String(repeating: " ", count: 39) + "8,40",
            "  2 x 4,20",
            "  Discount: Stammkunde" + String(repeating: " ", count: 21) + "-0,84",
        ])
    }

    @Test("totals are double height and carry the currency symbol")
    func totals() throws {
        var document = Document(currency: "PLN", blocks: [.totals(Totals(lines: [.init(label: "Suma częściowa", amount: 123456)], label: "RAZEM", total: 123456))])
        document.cut = false
        let layout = ReceiptLayout(profile: TestSupport.profile("generic-80mm"))
        let result = try layout.render(document, loadImage: Self.noImages)
        let printer = TestSupport.print(result.bytes, profile: TestSupport.profile("generic-80mm"), fonts: nil)
        guard case .line(let runs, _) = printer.elements[1] else { Issue.record("no total line"); return }
        #expect(runs.map(\.text).joined().hasSuffix("1 234,56 zł"))
        #expect(runs.allSatisfy { $0.style.height == 2 && $0.style.bold })
        #expect(result.warnings.isEmpty)
    }

    @Test("VAT table columns are right-aligned")
    func vatTable() throws {
        var document = Document(currency: "EUR", blocks: [.vat([VATRow(rate: "20%", net: 1000, vat: 200, gross: 1200)])])
        document.cut = false
        let printed = try lines(document, profile: "generic-58mm")
        #expect(printed[0].count == printed[1].count)
        #expect(printed[1].hasSuffix("12,00"))
        #expect(printed[1].hasPrefix("20%"))
    }

    @Test("the documented example files parse and lay out", arguments: ["receipt.json", "report.json"])
    func examples(file: String) throws {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Docs/examples/\(file)")
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url))
        let layout = ReceiptLayout(profile: TestSupport.profile("generic-80mm"))
        let result = try layout.render(document) { (_: ImageBlock) throws(LayoutError) -> GrayImage in
            GrayImage(width: 24, height: 8, fill: 0)
        }
        #expect(result.warnings.isEmpty, "\(result.warnings)")
        #expect(result.bytes.count > 200)
    }

    @Test("a service's image cache dithers a logo once and prints the same bytes; a source over the bound is not kept")
    func imageCache() throws {
        func document(_ base64: String) throws -> Document {
            try JSONDecoder().decode(Document.self, from: Data(#"{"currency":"EUR","blocks":[{"type":"image","base64":"\#(base64)"}]}"#.utf8))
        }
        var loads = 0
        func load(_ block: ImageBlock) throws(LayoutError) -> GrayImage {
            loads += 1
            // A gradient, so that dithering has something to do.
            return GrayImage(width: 64, height: 16, pixels: (0..<(64 * 16)).map { UInt8(truncatingIfNeeded: $0 % 64 * 4) })
        }
        let profile = TestSupport.profile("generic-80mm")
        let cache = ImageCache()
        let cached = ReceiptLayout(profile: profile, options: .init(imageCache: cache))
        let small = try document(String(repeating: "QUFB", count: 100))
        let plain = try ReceiptLayout(profile: profile).render(small, loadImage: load).bytes
        let first = try cached.render(small, loadImage: load).bytes
        let second = try cached.render(small, loadImage: load).bytes
        #expect(loads == 2 && cache.count == 1, "decoded for the plain render and once for the cache (\(loads))")
        #expect(first == plain && second == plain)
        let big = try document(String(repeating: "QUFB", count: ImageCache.maxSourceBytes / 4 + 1))
        _ = try cached.render(big, loadImage: load)
        _ = try cached.render(big, loadImage: load)
        #expect(loads == 4 && cache.count == 1, "a source over \(ImageCache.maxSourceBytes) bytes is decoded each time, never kept")
    }

    @Test("invalid documents fail with a reason", arguments: [
        #"{"currency":"EUR","blocks":[{"type":"hologram"}]}"#,
        #"{"currency":"EUR","items":[{"name":"x","quantity":0.5,"unitPrice":100}]}"#,
        #"{"currency":"EUR","items":[{"name":"x","unitPrice":1.5}]}"#,
        #"{"items":[]}"#,
        #"{"currency":"EUR","header":[{"text":"x","align":"middle"}]}"#,
    ])
    func invalid(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Document.self, from: Data(json.utf8)) }
    }

    @Test("an unsupported format version is refused")
    func formatVersion() throws {
        var document = Document(currency: "EUR", blocks: [])
        document.format = "kassa.document/9"
        #expect(throws: LayoutError.self) {
            try ReceiptLayout(profile: TestSupport.profile("generic-80mm")).render(document, loadImage: Self.noImages)
        }
    }

    @Test("barcodes too wide for the paper shrink their modules, then fail clearly")
    func wideBarcode() throws {
        let profile = TestSupport.profile("generic-58mm")
        var fits = Document(currency: "EUR", blocks: [.barcode(BarcodeBlock(symbology: .code128, data: "ABCDEFGHIJKL"))])
        fits.cut = false
        #expect(throws: Never.self) { try ReceiptLayout(profile: profile).render(fits, loadImage: Self.noImages) }
        let tooLong = Document(currency: "EUR", blocks: [.barcode(BarcodeBlock(symbology: .code128, data: String(repeating: "X", count: 30)))])
        #expect(throws: LayoutError.escpos(.barcodeTooWide(data: String(repeating: "X", count: 30), dots: 730, maximum: 384))) {
            try ReceiptLayout(profile: profile).render(tooLong, loadImage: Self.noImages)
        }
    }
}

@Suite("Money and quantities")
struct MoneyTests {
    @Test(arguments: [
        ("EUR", Int64(123456789), "1.234.567,89"), ("EUR", -5, "-0,05"), ("SEK", 100, "1,00"), ("JPY", 1500, "1,500"),
        ("KWD", 1234, "1.234"), ("USD", 99, "0.99"), ("CHF", 123456, "1'234.56"), ("XXX", 7, "0.07"),
    ])
    func format(currency: String, minor: Int64, expected: String) {
        #expect(MoneyFormat.standard(for: currency).format(minor) == expected)
    }

    @Test("separators of several bytes (a non-breaking space) take the general path and agree with it")
    func multiByteSeparators() {
        let format = MoneyFormat(code: "CZK", minorDigits: 2, decimalSeparator: ",", groupSeparator: "\u{00A0}", symbol: "Kč",
                                 symbolPosition: .after)
        #expect(format.format(123456789) == "1\u{00A0}234\u{00A0}567,89")
        #expect(format.format(-5) == "-0,05")
        #expect(format.format(100000, withSymbol: true) == "1\u{00A0}000,00 Kč")
    }

    @Test("the byte formatter's width matches what it writes", arguments: [Int64(0), 5, -5, 999, 1000, -123456, 99999999, Int64.max, Int64.min + 1])
    func widths(minor: Int64) {
        for code in ["EUR", "SEK", "JPY", "KWD", "CHF"] {
            let formatter = MoneyFormat.ByteFormatter(MoneyFormat.standard(for: code))
            var bytes: [UInt8] = []
            let written = formatter.append(minor, to: &bytes)
            #expect(formatter.width(minor) == written, "\(code) \(minor)")
            #expect(String(decoding: bytes, as: UTF8.self) == MoneyFormat.standard(for: code).format(minor))
        }
    }

    @Test func symbols() {
        #expect(MoneyFormat.standard(for: "EUR").format(1250, withSymbol: true) == "12,50 €")
        #expect(MoneyFormat.standard(for: "GBP").format(1250, withSymbol: true) == "£ 12.50")
        #expect(MoneyFormat.standard(for: "EUR").format(Int64.min + 1).hasPrefix("-92.233.720"))
    }

    @Test("quantities parse exactly and multiply with half-away-from-zero rounding")
    func quantities() throws {
        let q = try #require(Quantity(parsing: "0.456"))
        #expect(q == Quantity(units: 456, scale: 3))
        #expect(q.timesChecked(2990) == 1363)  // 1363.44
        #expect(try #require(Quantity(parsing: "0,5")).timesChecked(3) == 2)  // 1.5 → 2
        #expect(try #require(Quantity(parsing: "-0.5")).timesChecked(3) == -2)
        #expect(try #require(Quantity(parsing: "1.000")).isOne)
        for bad in ["", "1.2.3", "abc", "1.", ".5", "0.1234567", "1e3", "١٢"] {
            #expect(Quantity(parsing: bad) == nil, "\(bad)")
        }
    }
}

@Suite("Wrapping")
struct WrapTests {
    @Test func wrap() {
        #expect(ReceiptLayout.wrap("a bb ccc dddd", width: 6) == ["a bb", "ccc", "dddd"])
        #expect(ReceiptLayout.wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
        #expect(ReceiptLayout.wrap("  indented text here", width: 10) == ["  indented", "text here"])
        #expect(ReceiptLayout.wrap("", width: 5) == [""])
        #expect(ReceiptLayout.wrap("åäö ÅÄÖ", width: 3) == ["åäö", "ÅÄÖ"])
    }

    @Test func columnsLine() {
        #expect(ReceiptLayout.columnsLine("Kaffe", "3,50", width: 12) == ["Kaffe   3,50"])
        #expect(ReceiptLayout.columnsLine("Kaffe latte stor", "3,50", width: 12) == ["Kaffe   3,50", "latte", "stor"])
    }

    @Test("values a printer would misprint, and sums beyond the range of an amount, are refused with the field's path",
          arguments: [
              (#"{"currency":"EUR","items":[{"name":"X","quantity":999999999999,"unitPrice":9223372036854775807}]}"#, "items[0].unitPrice"),
              (#"{"currency":"EUR","items":[{"name":"X","quantity":999999,"unitPrice":999999999999}]}"#, "items[0]: quantity × unitPrice"),
              (#"{"currency":"EUR","items":[{"name":"X","quantity":1000000000000,"unitPrice":0}]}"#, "items[0].quantity"),
              (#"{"currency":"EUR","totals":{"total":1000000000000}}"#, "totals.total"),
              (#"{"currency":"EUR","payments":[{"method":"Kort","amount":-1000000000000}]}"#, "payments[0].amount"),
              (#"{"currency":"EUR","blocks":[{"type":"text","text":"x","size":{"width":0,"height":1}}]}"#, "blocks[0].size.width"),
              (#"{"currency":"EUR","blocks":[{"type":"text","text":"x","size":{"width":1,"height":9}}]}"#, "blocks[0].size.height"),
              (#"{"currency":"EUR","blocks":[{"type":"text","text":"x","underline":3}]}"#, "blocks[0].underline"),
              (#"{"currency":"EUR","blocks":[{"type":"text","text":"x"},{"type":"cut","kind":"diagonal"}]}"#, "blocks[1].kind"),
              (#"{"currency":"EUR","blocks":[{"type":"image","base64":"AA==","width":-5}]}"#, "blocks[0].width"),
              (#"{"currency":"EUR","blocks":[{"type":"qr","data":""}]}"#, "blocks[0].data"),
              (#"{"currency":"EUR","blocks":[{"type":"feed","lines":300}]}"#, "blocks[0].lines"),
              (#"{"currency":"EUR","header":["a",{"text":"b","size":{"width":9,"height":1}}]}"#, "header[1].size.width"),
          ])
    func refusedValues(json: String, path: String) throws {
        let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        let layout = ReceiptLayout(profile: TestSupport.profile("generic-80mm"))
        #expect {
            _ = try layout.render(document, loadImage: LayoutTests.noImages)
        } throws: { error in
            guard case .invalid(let reason) = error as? LayoutError else { return false }
            return reason.contains(path)
        }
    }

    @Test("a native QR code wider than the paper is refused with the module size that fits")
    func qrTooWide() throws {
        let layout = ReceiptLayout(profile: TestSupport.profile("generic-58mm"))
        let document = Document(currency: "EUR", blocks: [.qr(QRBlock(data: String(repeating: "A", count: 100), moduleSize: 16))])
        #expect {
            _ = try layout.render(document, loadImage: LayoutTests.noImages)
        } throws: { error in
            guard case .escpos(.qrCodeTooWide(let modules, 16, 384)) = error as? LayoutError else { return false }
            return modules * 16 > 384 && (error as? LayoutError)?.description.contains("moduleSize \(384 / modules) or less") == true
        }
    }
}
