import Foundation
import ImageCodec
import Raster
import ReceiptLayout

/// The receipt `kassa print --demo` prints: national characters, €, a logo, VAT, payments, a barcode and a QR code.
public enum DemoReceipt {
    /// A greyscale badge with a gradient, so dithering shows.
    public static func logo(width: Int = 256, height: Int = 96) -> GrayImage {
        var image = GrayImage(width: width, height: height)
        let cx = Double(height) / 2
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - cx
                let dy = Double(y) - cx
                let distance = (dx * dx + dy * dy).squareRoot()
                if distance < cx - 2 {
                    image[x, y] = UInt8(clamping: Int(40 + 180 * distance / cx))
                } else if x > height + 8, y > height / 4, y < height * 3 / 4 {
                    let band = (x - height) * 255 / max(1, width - height)
                    image[x, y] = UInt8(clamping: band)
                }
            }
        }
        return image
    }

    public static func document() -> Document {
        let png = (try? ImageCodec.encodePNG(logo())) ?? []
        var document = Document(currency: "EUR", blocks: [])
        document.blocks = nil
        document.logo = ImageBlock(base64: Data(png).base64EncodedString())
        document.header = [
            TextBlock("Kassa Demo Café", align: .center, bold: true, size: .init(width: 2, height: 2)),
            TextBlock("Storgatan 1, 111 22 Göteborg", align: .center),
            TextBlock("Org.nr 556677-8899", align: .center),
            TextBlock("Kvitto 1042 · Kassa 1 · Z 7", align: .center),
        ]
        var cheese = Item(name: "Ost, lagrad (Västerbotten)", quantity: Quantity(parsing: "0.456"), unitPrice: 2990, vat: "B")
        cheese.unit = "kg"
        var croissant = Item(name: "Croissant", quantity: Quantity(units: 2), unitPrice: 250, vat: "B")
        croissant.discount = Item.Discount(amount: 50, reason: "Stammkunde")
        document.items = [
            Item(name: "Kaffe bryggt", unitPrice: 350, vat: "B"),
            Item(name: "Kanelbulle", unitPrice: 420, vat: "B"),
            Item(name: "Smørrebrød med røget ål og æg", unitPrice: 1290, vat: "B"),
            Item(name: "Żurek z jajkiem, łódzki", unitPrice: 890, vat: "B"),
            Item(name: "Weißwurst mit süßem Senf", unitPrice: 760, vat: "B"),
            cheese,
            croissant,
            Item(name: "Lakritsfudge", quantity: Quantity(units: 3), unitPrice: 199, vat: "A"),
            Item(name: "Pfand", unitPrice: 25, vat: "A"),
        ]
        let subtotal = document.items!.compactMap(\.lineAmount).reduce(0, +)
        let total = subtotal - 50
        document.totals = Totals(
            lines: [Totals.Line(label: "Delsumma", amount: subtotal), Totals.Line(label: "varav rabatt", amount: -50)],
            label: "SUMMA", total: total)
        document.payments = [Payment(method: "Kort (Visa ****1234)", amount: 4000), Payment(method: "Kontant", amount: total - 4000 + 200),
                             Payment(method: "Växel", amount: -200)]
        let vatA: Int64 = 3 * 199 + 25
        let vatB = total - vatA
        document.vat = [
            VATRow(rate: "A 25%", net: vatA * 100 / 125, vat: vatA - vatA * 100 / 125, gross: vatA),
            VATRow(rate: "B 12%", net: vatB * 100 / 112, vat: vatB - vatB * 100 / 112, gross: vatB),
        ]
        document.labels = ["rate": "Moms", "net": "Netto", "vat": "Moms", "gross": "Brutto", "discount": "Rabatt"]
        document.footer = [
            TextBlock("Tack för ditt köp! Dziękujemy! Danke!", align: .center),
            TextBlock("Öppet mån–fre 07–18", align: .center),
        ]
        document.barcode = BarcodeBlock(symbology: .ean13, data: "200000104209")
        document.qr = QRBlock(data: "https://kassa.example/r/1042?sum=\(total)", moduleSize: 5)
        return document
    }
}
