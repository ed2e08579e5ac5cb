import CompatProtocols
import ESCPOS
import Foundation
import ImageCodec
import Raster
import Testing
import TestSupport

/// The reference's test vectors (../shared/reference/service-protocols.md §1.12, §2.5) and the refusals, on the pure
/// side: bytes for a profile, parsed documents, answers.
@Suite("Odoo hw_proxy and Epson ePOS-Print: decoding, encoding, answers")
struct CompatProtocolsTests {
    /// The reference's 16×4 greyscale JPEG: left 8 columns black, right 8 white (quality 100, decodes to exact 0/255).
    static let jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAEABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AP8AP/r/AH+K/9k="
    /// Odoo's raster for it: `GS v 0`, 2 bytes × 4 rows of FF 00.
    static let odooRaster: [UInt8] = [0x1D, 0x76, 0x30, 0x00, 0x02, 0x00, 0x04, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    @Test("TV-3: the receipt JPEG decodes exactly and becomes Odoo's raster, in Kassa's job with a cut (golden bytes)")
    func receiptImageTV3() throws {
        let gray = try JPEG.decodeGray([UInt8](try #require(Data(base64Encoded: Self.jpeg))))
        #expect(gray.width == 16 && gray.height == 4)
        #expect(gray.pixels == (0..<4).flatMap { _ in [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 255, count: 8) })
        let profile = TestSupport.profile("generic-80mm")
        let rendered = try ReceiptImage.escpos(base64: Self.jpeg, profile: profile)
        #expect(rendered.bitmap.bytes == [0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00])
        #expect(Self.contains(rendered.bytes, Self.odooRaster))
        var expected = ESCPOSWriter(profile: profile)
        expected.initialize()
        try expected.image(MonoBitmap(width: 16, height: 4, bytes: [0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]))
        expected.cut(.partial)
        #expect(rendered.bytes == expected.bytes)
        // ESC @, the raster, then GS V 66 3 (feed three lines and cut partially): nothing else.
        #expect(rendered.bytes == [0x1B, 0x40] + Self.odooRaster + [0x1D, 0x56, 0x42, 0x03])
        // A data URL is taken too.
        #expect(try ReceiptImage.escpos(base64: "data:image/jpeg;base64," + Self.jpeg, profile: profile).bytes == rendered.bytes)
    }

    @Test("a 512-px receipt on a 58 mm printer is scaled to its 384 dots; on 80 mm it is printed as it is")
    func scaledToPaper() throws {
        var gray = GrayImage(width: 512, height: 200)
        for y in 0..<200 { for x in 0..<256 { gray[x, y] = 0 } }
        let png = try ImageCodec.encodePNG(gray)
        let narrow = try ReceiptImage.escpos(image: png, profile: TestSupport.profile("generic-58mm"))
        #expect(narrow.bitmap.width == 384 && narrow.bitmap.height == 150 && narrow.sourceWidth == 512)
        // The left half stays black, the right half white, in the same proportion.
        #expect(narrow.bitmap[0, 0] && narrow.bitmap[191, 75] && !narrow.bitmap[192, 75] && !narrow.bitmap[383, 149])
        let wide = try ReceiptImage.escpos(image: png, profile: TestSupport.profile("generic-80mm"))
        #expect(wide.bitmap.width == 512 && wide.bitmap.height == 200)
        // What the virtual printer makes of the job: black on the left, white on the right, 200 rows.
        let printed = TestSupport.print(wide.bytes, profile: TestSupport.profile("generic-80mm"), fonts: nil).renderImage()
        #expect(printed.width == 576 && printed.height >= 200 && printed[10, 100] == 0 && printed[300, 100] == 255)
    }

    @Test("refused receipts: not base64, not an image, truncated JPEG, 10^9 pixels (refused from the header, nothing allocated)")
    func refusedReceipts() throws {
        let profile = TestSupport.profile("generic-80mm")
        func code(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as CompatError { return error.code } catch { return "\(error)" }
            return nil
        }
        #expect(code { _ = try ReceiptImage.escpos(base64: "not base64!", profile: profile) } == "INVALID_RECEIPT_IMAGE")
        #expect(code { _ = try ReceiptImage.escpos(base64: Data("hello".utf8).base64EncodedString(), profile: profile) } == "INVALID_RECEIPT_IMAGE")
        var bytes = [UInt8](Data(base64Encoded: Self.jpeg)!)
        #expect(code { _ = try ReceiptImage.escpos(image: Array(bytes.prefix(bytes.count - 12)), profile: profile) } == "INVALID_RECEIPT_IMAGE")
        // SOF0: FF C0, length, precision, height (2 bytes), width (2 bytes): 65000 × 16383 ≈ 1.06·10^9 pixels.
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 5] = 0xFD; bytes[sof + 6] = 0xE8; bytes[sof + 7] = 0x3F; bytes[sof + 8] = 0xFF
        #expect(try JPEG.size(bytes) == (width: 16383, height: 65000))
        #expect(code { _ = try ReceiptImage.escpos(image: bytes, profile: profile) } == "IMAGE_TOO_LARGE")
    }

    @Test("JSON-RPC: both request shapes, id echoed, unknown keys and bad JSON refused, errors in Odoo's envelope")
    func jsonRPC() throws {
        let a = try OdooRPC.decode(OdooRPC.PrinterActionParams.self, Array(#"{"id":9,"jsonrpc":"2.0","method":"call","params":{"data":{"action":"print_receipt","receipt":"AAAA"}}}"#.utf8))
        #expect(a.id == .number(9) && a.params.data.action == "print_receipt" && a.params.data.receipt == "AAAA")
        let b = try OdooRPC.decode(OdooRPC.PrinterActionParams.self, Array(#"{"params":{"data":{"action":"cashbox"}}}"#.utf8))
        #expect(b.id == nil && b.params.data.action == "cashbox")
        let hello = try OdooRPC.decode(OdooRPC.NoParams.self, Array(#"{"id":3,"jsonrpc":"2.0","method":"call","params":{}}"#.utf8))
        #expect(hello.id == .number(3))
        #expect(try OdooRPC.decode(OdooRPC.NoParams.self, Array(#"{"id":"x"}"#.utf8)).id == .text("x"))
        func code(_ body: String, _ type: (some Decodable & Sendable).Type) -> String? {
            do { _ = try OdooRPC.decode(type, Array(body.utf8)) } catch { return error.code }
            return nil
        }
        #expect(code(#"{"params":{"data":{"action":"cashbox","colour":1}}}"#, OdooRPC.PrinterActionParams.self) == "UNKNOWN_FIELD")
        #expect(code(#"{"params":{"extra":true}}"#, OdooRPC.NoParams.self) == "UNKNOWN_FIELD")
        #expect(code(#"{"params":{"data":{"action":7}}}"#, OdooRPC.PrinterActionParams.self) == "INVALID_REQUEST")
        #expect(code(#"{"params":{"data""#, OdooRPC.PrinterActionParams.self) == "INVALID_JSON")
        #expect(code(#"{"jsonrpc":"1.0","params":{}}"#, OdooRPC.NoParams.self) == "INVALID_REQUEST")
        #expect(code(#"{"id":1}"#, OdooRPC.PrinterActionParams.self) == "INVALID_REQUEST")
        // Answers parse as JSON, with the id echoed.
        let result = try #require(JSONSerialization.jsonObject(with: Data(OdooRPC.result(id: .number(9), "true").utf8)) as? [String: Any])
        #expect(result["id"] as? Int == 9 && result["result"] as? Bool == true && result["jsonrpc"] as? String == "2.0")
        let failure = try #require(JSONSerialization.jsonObject(with: Data(OdooRPC.error(id: nil, CompatError("X", "a \"quoted\"\nline")).utf8)) as? [String: Any])
        let error = try #require(failure["error"] as? [String: Any])
        #expect(failure["id"] is NSNull && error["code"] as? Int == 200 && (error["data"] as? [String: Any])?["message"] as? String == "a \"quoted\"\nline")
        let status = try #require(JSONSerialization.jsonObject(with: Data(OdooRPC.statusResult(connected: false, message: "paper out").utf8)) as? [String: [String: Any]])
        #expect(status["printer"]?["status"] as? String == "disconnected" && status["escpos"]?["messages"] as? [String] == ["paper out"])
    }

    static let tv6 = #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><image width="16" height="4" align="center">/wD/AP8A/wA=</image><cut type="feed"/></epos-print></s:Body></s:Envelope>"#

    static func envelope(_ inner: String, header: String = "") -> String {
        #"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">"# + header
            + "<s:Body>\(inner)</s:Body></s:Envelope>"
    }

    @Test("TV-6: Odoo's image through ePOS, centred on the paper by blank dots, then cut")
    func eposImageTV6() throws {
        let request = try EPOSRequest.parse(Array(Self.tv6.utf8))
        #expect(request.elements == [.image(width: 16, height: 4, align: "center", gray16: false, data: [0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]),
                                     .cut(type: "feed")])
        let profile = TestSupport.profile("generic-80mm")
        let job = try EPOSEncoder.encode(request, profile: profile, allowCommand: false)
        #expect(job.drawerOnly == nil)
        // (576 − 16) / 2 = 280 blank dots, then the 8 black ones: 296 dots wide, 37 bytes a row.
        #expect(Self.contains(job.bytes, [0x1D, 0x76, 0x30, 0x00, 37, 0x00, 0x04, 0x00]))
        let page = TestSupport.print(job.bytes, profile: profile, fonts: nil).renderImage()
        #expect(page[279, 1] == 255 && page[280, 1] == 0 && page[287, 1] == 0 && page[288, 1] == 255)
        #expect(Self.contains(job.bytes, [0x1D, 0x56]))
    }

    @Test("TV-7 and TV-8: a pulse alone is a drawer kick; text, EAN-13, QR, feed, cut and pulse print what they say")
    func eposTextBarcodeQR() throws {
        let drawer = try EPOSRequest.parse(Array(Self.envelope(#"<epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><pulse/></epos-print>"#).utf8))
        let kick = try EPOSEncoder.encode(drawer, profile: TestSupport.profile("TM-T20III"), allowCommand: false)
        // ESC p 0 t1 t2: pin 2, 100 ms on (50 × 2 ms), 200 ms off.
        #expect(kick.drawerOnly == [0x1B, 0x70, 0x00, 50, 100])
        let tv8 = """
        <epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print">
          <text lang="en" smooth="true"/><text align="center"/><text dw="true" dh="true"/><text>KASSA&#10;</text>
          <text dw="false" dh="false"/><text align="left"/><text>1 x Coffee        3.20&#10;</text>
          <barcode type="ean13" hri="below" font="font_a" width="2" height="64">401234567890</barcode><feed line="1"/>
          <symbol type="qrcode_model_2" level="level_m" width="6" size="0">https://example.com/r/123</symbol>
          <feed unit="24"/><cut type="feed"/><pulse drawer="drawer_1" time="pulse_100"/>
        </epos-print>
        """
        let request = try EPOSRequest.parse(Array(Self.envelope(tv8).utf8))
        #expect(request.elements.count == 13)
        let profile = TestSupport.profile("TM-T20III")
        let job = try EPOSEncoder.encode(request, profile: profile, allowCommand: false)
        #expect(job.drawerOnly == nil)
        // Smoothing, double size, the drawer pulse (ESC p 0 50 100): the ESC/POS the elements name.
        #expect(Self.contains(job.bytes, [0x1D, 0x62, 0x01]) && Self.contains(job.bytes, [0x1D, 0x21, 0x11]))
        #expect(Self.contains(job.bytes, [0x1B, 0x70, 0x00, 50, 100]) && Self.contains(job.bytes, [0x1B, 0x4A, 24]))
        let printer = TestSupport.print(job.bytes, profile: profile)
        let text = printer.textPreview()
        // The preview shows double width as spaced letters, centred.
        #expect(text.contains("K A S S A") && text.contains("1 x Coffee        3.20") && text.contains("[drawer pulse, pin 2: 100 ms"), "\(text)")
        let symbols = try TestSupport.zbar(printer.renderImage())
        #expect(symbols.contains("EAN-13:4012345678901") && symbols.contains("QR-Code:https://example.com/r/123"), "\(symbols)")
    }

    @Test("namespaces: children in the epos-print namespace or in none (Odoo strips it); a header's devid, timeout and printjobid")
    func namespacesAndHeader() throws {
        let stripped = try EPOSRequest.parse(Array(Self.envelope(#"<epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><text xmlns="">Hi&#10;</text><cut xmlns="" type="feed"/></epos-print>"#).utf8))
        #expect(stripped.elements.count == 2)
        let header = #"<s:Header><parameter xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><devid>counter</devid><timeout>10000</timeout><printjobid>ABC_1.2-3</printjobid></parameter></s:Header>"#
        let request = try EPOSRequest.parse(Array(Self.envelope(#"<epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"/>"#, header: header).utf8))
        #expect(request.deviceID == "counter" && request.timeoutMilliseconds == 10000 && request.printJobID == "ABC_1.2-3" && request.isStatusRequest)
    }

    @Test("refused documents are SchemaErrors: malformed XML, a DTD, unknown elements and attributes, values out of range, page mode, command while off")
    func refusedDocuments() throws {
        func code(_ inner: String, header: String = "", raw: String? = nil, allowCommand: Bool = false) -> String? {
            do {
                let request = try EPOSRequest.parse(Array((raw ?? Self.envelope(#"<epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print">"# + inner + "</epos-print>", header: header)).utf8))
                _ = try EPOSEncoder.encode(request, profile: TestSupport.profile("TM-T20III"), allowCommand: allowCommand)
            } catch {
                return error.code
            }
            return nil
        }
        #expect(code("<text>unclosed") == "SchemaError")
        #expect(code("", raw: "<epos-print><text>no envelope</text></epos-print>") == "SchemaError")
        #expect(code("", raw: #"<!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><epos-print>&a;</epos-print></s:Body></s:Envelope>"#) == "SchemaError")
        #expect(code("<marquee>hi</marquee>") == "SchemaError")
        #expect(code(#"<text blink="true">x</text>"#) == "SchemaError")
        #expect(code(#"<text align="middle">x</text>"#) == "SchemaError")
        #expect(code(#"<image width="100000" height="1">AA==</image>"#) == "SchemaError")
        #expect(code(#"<image width="16" height="4">AAAA</image>"#) == "SchemaError")
        #expect(code(#"<barcode type="codabar">A123B</barcode>"#) == "SchemaError")
        #expect(code(#"<symbol type="pdf417_standard">x</symbol>"#) == "SchemaError")
        #expect(code("<page><text>x</text></page>") == "SchemaError")
        #expect(code("<text><b>nested</b></text>") == "SchemaError")
        #expect(code("loose text") == "SchemaError")
        #expect(code("<command>1B40</command>") == "SchemaError")
        #expect(code("<command>1B40</command>", allowCommand: true) == nil)
        #expect(code("<command>1B4</command>", allowCommand: true) == "SchemaError")
        #expect(code("<text>ok</text>", header: "<s:Header><parameter><printjobid>has space</printjobid></parameter></s:Header>") == "SchemaError")
        #expect(code(#"<text>ok</text><cut type="feed"/>"#) == nil)
    }

    @Test("images: Odoo's unpadded bit stream when the width is not a multiple of 8; gray16 dithered; wider than the paper scaled")
    func imagePacking() throws {
        // 12 × 2, all black: padded rows would be 4 bytes; the stream is 3.
        let stream = try EPOSEncoder.bitmap(width: 12, height: 2, gray16: false, data: [0xFF, 0xFF, 0xFF], dots: 576)
        #expect(stream.width == 12 && stream.blackCount == 24)
        // 12 × 2 padded: the first row black, the second white.
        let padded = try EPOSEncoder.bitmap(width: 12, height: 2, gray16: false, data: [0xFF, 0xF0, 0x00, 0x00], dots: 576)
        #expect(padded.blackCount == 12 && padded[11, 0] && !padded[0, 1])
        // 10 × 3 stream: a diagonal-free pattern whose rows only line up when read unpadded: bit 10 starts row 1.
        var bits = [UInt8](repeating: 0, count: 4)
        for index in [10, 11, 12] { bits[index >> 3] |= 0x80 >> UInt8(index & 7) }
        let diagonal = try EPOSEncoder.bitmap(width: 10, height: 3, gray16: false, data: bits, dots: 576)
        #expect(diagonal[0, 1] && diagonal[1, 1] && diagonal[2, 1] && diagonal.blackCount == 3)
        let gray = try EPOSEncoder.bitmap(width: 4, height: 1, gray16: true, data: [0xF0, 0xF0], dots: 576)
        #expect(gray[0, 0] && !gray[1, 0] && gray[2, 0] && !gray[3, 0])
        let wide = try EPOSEncoder.bitmap(width: 1024, height: 8, gray16: false, data: [UInt8](repeating: 0xFF, count: 1024), dots: 576)
        #expect(wide.width == 576 && wide.height == 5 && wide.blackCount == 576 * 5)
    }

    @Test("the response: ASB bits bit by bit from what was read, the failure code by priority, the SOAP envelope")
    func responses() throws {
        #expect(EPOSCondition(reachable: false).status() == 1 && EPOSCondition(reachable: false).failureCode == "EX_BADPORT")
        let ready = EPOSCondition(reachable: true, online: true, coverOpen: false, paper: "ok", drawerOpen: false)
        #expect(ready.status(printed: true) == 2 && ready.failureCode == nil)
        let cover = EPOSCondition(reachable: true, online: false, coverOpen: true, paper: "ok")
        #expect(cover.status() == 0x28 && cover.failureCode == "EPTR_COVER_OPEN")
        let paper = EPOSCondition(reachable: true, online: false, coverOpen: false, paper: "out")
        #expect(paper.status() == 0x80008 && paper.failureCode == "EPTR_REC_EMPTY")
        let nearEnd = EPOSCondition(reachable: true, online: true, coverOpen: false, paper: "near-end", drawerOpen: true)
        #expect(nearEnd.status(printed: true) == 0x20006 && nearEnd.failureCode == nil)
        let cutter = EPOSCondition(reachable: true, online: false, errors: ["auto-cutter"])
        #expect(cutter.status() == 0x808 && cutter.failureCode == "EPTR_CUTTER")
        let xml = EPOSResponse.xml(success: false, code: "EPTR_COVER_OPEN", status: cover.status(), printJobID: "A<1")
        #expect(xml.contains(#"success="false" code="EPTR_COVER_OPEN" status="40" battery="0""#) && xml.contains("<printjobid>A&lt;1</printjobid>"))
        #expect(xml.hasPrefix("<?xml") && xml.contains("<s:Envelope") && xml.hasSuffix("</s:Envelope>"))
    }
}
