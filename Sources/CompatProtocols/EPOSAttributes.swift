import Foundation

/// The elements and attributes of ePOS-Print XML, with the value sets of Epson's SDK (v1.1.1 and v5.0.0) and the
/// ranges of the reference (`../shared/reference/service-protocols.md` §2.3). Unknown elements and attributes, and
/// values out of their sets, are `SchemaError`s.
enum EPOSAttributes {
    static let alignments: Set<String> = ["left", "center", "right"]
    static let barcodeTypes: Set<String> = [
        "upc_a", "upc_e", "ean13", "jan13", "ean8", "jan8", "code39", "itf", "codabar", "code93", "code128", "gs1_128",
        "gs1_databar_omnidirectional", "gs1_databar_truncated", "gs1_databar_limited", "gs1_databar_expanded",
    ]
    static let symbolTypes: Set<String> = [
        "pdf417_standard", "pdf417_truncated", "qrcode_model_1", "qrcode_model_2", "qrcode_micro", "maxicode_mode_2", "maxicode_mode_3",
        "maxicode_mode_4", "maxicode_mode_5", "maxicode_mode_6", "gs1_databar_stacked", "gs1_databar_stacked_omnidirectional",
        "gs1_databar_expanded_stacked", "azteccode_fullrange", "azteccode_compact", "datamatrix_square", "datamatrix_rectangle_8",
        "datamatrix_rectangle_12", "datamatrix_rectangle_16",
    ]
    static let hriPositions: Set<String> = ["none", "above", "below", "both"]
    static let fonts: Set<String> = ["font_a", "font_b", "font_c", "font_d", "font_e", "special_a", "special_b"]
    static let colors: Set<String> = ["none", "color_1", "color_2", "color_3", "color_4"]
    static let feedPositions: Set<String> = ["peeling", "cutting", "current_tof", "next_tof"]
    static let cutTypes: Set<String> = ["no_feed", "feed", "reserve"]
    static let drawers: Set<String> = ["drawer_1", "drawer_2"]
    static let pulseTimes: Set<String> = ["pulse_100", "pulse_200", "pulse_300", "pulse_400", "pulse_500"]
    static let soundPatterns: Set<String> = Set(["none", "error", "paper_end"])
        .union((0...10).map { "pattern_\($0)" }).union(["a", "b", "c", "d", "e"].map { "pattern_\($0)" })
    static let lineStyles: Set<String> = ["thin", "medium", "thick", "thin_double", "medium_double", "thick_double"]
    static let layoutTypes: Set<String> = ["receipt", "receipt_bm", "label", "label_bm"]

    /// A whole decimal number in `range` (no sign, no spaces, at most 6 digits before the range check).
    static func integer(_ text: String, _ range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 6, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(text),
              range.contains(value) else { return nil }
        return value
    }

    static func signedInteger(_ text: String, _ range: ClosedRange<Int>) -> Int? {
        if text.hasPrefix("-") { return integer(String(text.dropFirst()), 0...(-range.lowerBound)).map { -$0 } }
        return integer(text, 0...range.upperBound)
    }

    static func isPrintJobID(_ text: String) -> Bool {
        (1...30).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
    }

    /// Reads an element's attributes, each checked once; the ones left over are unknown.
    struct Reader {
        let element: String
        var attributes: [String: String]

        mutating func take(_ name: String) -> String? { attributes.removeValue(forKey: name) }

        mutating func oneOf(_ name: String, _ values: Set<String>) throws(CompatError) -> String? {
            guard let value = take(name) else { return nil }
            guard values.contains(value) else {
                throw .schema("<\(element) \(name)=\"\(value)\">: \(name) is one of \(values.sorted().joined(separator: ", "))")
            }
            return value
        }

        mutating func number(_ name: String, _ range: ClosedRange<Int>) throws(CompatError) -> Int? {
            guard let value = take(name) else { return nil }
            guard let number = EPOSAttributes.integer(value, range) else {
                throw .schema("<\(element) \(name)=\"\(value)\">: \(name) is a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }

        mutating func flag(_ name: String) throws(CompatError) -> Bool? {
            guard let value = take(name) else { return nil }
            guard let flag = EPOSReader.boolean(value) else { throw .schema("<\(element) \(name)=\"\(value)\">: \(name) is true or false") }
            return flag
        }

        /// Fails on any attribute not taken (namespace declarations aside).
        func finish() throws(CompatError) {
            let left = attributes.keys.filter { !$0.hasPrefix("xmlns") }.sorted()
            guard left.isEmpty else {
                throw .schema("<\(element)> has no attribute \(left.joined(separator: ", ")) (Docs/compat.md lists what Kassa reads)")
            }
        }
    }

    static func element(_ name: String, _ attributes: [String: String], _ content: String) throws(CompatError) -> EPOSElement {
        var reader = Reader(element: name, attributes: attributes)
        let element: EPOSElement
        func noContent() throws(CompatError) {
            guard content.allSatisfy(\.isWhitespace) else { throw .schema("<\(name)> takes no text") }
        }
        switch name {
        case "text":
            var text = EPOSText(content: content)
            text.lang = reader.take("lang")
            if let lang = text.lang, lang.isEmpty || lang.utf8.count > 16 { throw .schema("<text lang=\"\(lang)\">: lang is a language code such as en") }
            text.align = try reader.oneOf("align", alignments)
            text.rotate = try reader.flag("rotate")
            text.lineSpacing = try reader.number("linespc", 0...255)
            if let font = try reader.oneOf("font", fonts) { text.font = EPOSText.Font(rawValue: font) }
            text.smooth = try reader.flag("smooth")
            text.doubleWidth = try reader.flag("dw")
            text.doubleHeight = try reader.flag("dh")
            text.width = try reader.number("width", 1...8)
            text.height = try reader.number("height", 1...8)
            text.reverse = try reader.flag("reverse")
            text.underline = try reader.flag("ul")
            text.emphasis = try reader.flag("em")
            if let color = try reader.oneOf("color", colors), color != "none", color != "color_1" {
                throw .schema("<text color=\"\(color)\">: this printer prints in one colour (none or color_1)")
            }
            text.x = try reader.number("x", 0...65535)
            if reader.attributes["y"] != nil { throw .schema("<text y>: page mode is not supported (Docs/compat.md)") }
            element = .text(text)
        case "feed":
            let line = try reader.number("line", 0...255)
            let unit = try reader.number("unit", 0...255)
            let spacing = try reader.number("linespc", 0...255)
            let pos = try reader.oneOf("pos", feedPositions)
            guard [line != nil, unit != nil, pos != nil].filter({ $0 }).count <= 1 else {
                throw .schema("<feed> takes one of line, unit or pos")
            }
            try noContent()
            element = .feed(line: line, unit: unit, lineSpacing: spacing, pos: pos)
        case "image":
            guard let width = try reader.number("width", 1...65535), let height = try reader.number("height", 1...65535) else {
                throw .schema("<image> needs width and height (1 to 65535 dots)")
            }
            if let color = try reader.oneOf("color", colors), color != "none", color != "color_1" {
                throw .schema("<image color=\"\(color)\">: this printer prints in one colour (color_1)")
            }
            let align = try reader.oneOf("align", alignments)
            let mode = try reader.oneOf("mode", ["mono", "gray16"]) ?? "mono"
            guard let data = Data(base64Encoded: content.filter { !$0.isWhitespace }) else {
                throw .schema("<image> holds its raster in base64")
            }
            element = .image(width: width, height: height, align: align, gray16: mode == "gray16", data: [UInt8](data))
        case "logo":
            guard let key1 = try reader.number("key1", 0...255), let key2 = try reader.number("key2", 0...255) else {
                throw .schema("<logo> needs key1 and key2 (0 to 255)")
            }
            try noContent()
            element = .logo(key1: key1, key2: key2)
        case "barcode":
            guard let type = try reader.oneOf("type", barcodeTypes) else { throw .schema("<barcode> needs a type") }
            let hri = try reader.oneOf("hri", hriPositions)
            let font = try reader.oneOf("font", fonts)
            let width = try reader.number("width", 2...6)
            let height = try reader.number("height", 1...255)
            let align = try reader.oneOf("align", alignments)
            if try reader.flag("rotate") == true { throw .schema("<barcode rotate=\"true\">: rotated barcodes need page mode, which Kassa does not support") }
            element = .barcode(type: type, hri: hri, font: font, width: width, height: height, align: align, data: try unescape(content, name))
        case "symbol":
            guard let type = try reader.oneOf("type", symbolTypes) else { throw .schema("<symbol> needs a type") }
            var level = reader.take("level")
            if let given = level {
                let named: Set<String> = ["level_0", "level_1", "level_2", "level_3", "level_4", "level_5", "level_6", "level_7", "level_8",
                                          "level_l", "level_m", "level_q", "level_h", "default"]
                if !named.contains(given) {
                    guard integer(given, 0...255) != nil else { throw .schema("<symbol level=\"\(given)\">: level is level_l, level_m, level_q, level_h, level_0…8, default or 0–255") }
                }
                level = given
            }
            let width = try reader.number("width", 0...255)
            let height = try reader.number("height", 0...255)
            let size = try reader.number("size", 0...65535)
            let align = try reader.oneOf("align", alignments)
            element = .symbol(type: type, level: level, width: width, height: height, size: size, align: align, data: try unescape(content, name))
        case "hline":
            let x1 = try reader.number("x1", 0...65535) ?? 0
            guard let x2 = try reader.number("x2", 0...65535) else { throw .schema("<hline> needs x2") }
            guard x2 > x1 else { throw .schema("<hline>: x2 (\(x2)) must be right of x1 (\(x1))") }
            let style = try reader.oneOf("style", lineStyles) ?? "thin"
            try noContent()
            element = .hline(x1: x1, x2: x2, style: style)
        case "cut":
            let type = try reader.oneOf("type", cutTypes) ?? "feed"
            try noContent()
            element = .cut(type: type)
        case "pulse":
            let drawer = try reader.oneOf("drawer", drawers) ?? "drawer_1"
            let time = try reader.oneOf("time", pulseTimes) ?? "pulse_100"
            try noContent()
            element = .pulse(drawer: drawer, time: time)
        case "sound":
            let pattern = try reader.oneOf("pattern", soundPatterns) ?? "pattern_a"
            let repeatCount = try reader.number("repeat", 0...255)
            let cycle = try reader.number("cycle", 0...65535)
            try noContent()
            element = .sound(pattern: pattern, repeat: repeatCount, cycle: cycle)
        case "layout":
            _ = try reader.oneOf("type", layoutTypes)
            _ = try reader.number("width", 290...600)
            _ = try reader.number("height", 0...65535)
            for name in ["margin-top", "margin-bottom", "offset-cut", "offset-label"] {
                if let value = reader.take(name), signedInteger(value, -15000...15000) == nil {
                    throw .schema("<layout \(name)=\"\(value)\">: a whole number of 0.1 mm")
                }
            }
            try noContent()
            element = .layout
        case "command":
            let hex = content.filter { !$0.isWhitespace }
            guard hex.utf8.count % 2 == 0, let bytes = hexBytes(hex) else { throw .schema("<command> holds its bytes in hexadecimal") }
            element = .command(bytes)
        case "recovery":
            try noContent()
            element = .recovery
        case "reset":
            try noContent()
            element = .reset
        case "page", "area", "direction", "position", "line", "rectangle", "vline-begin", "vline-end", "rotate-begin", "rotate-end":
            throw .schema("<\(name)> needs page mode or ruled lines, which Kassa does not support (Docs/compat.md)")
        default:
            throw .schema("<\(name)> is not an ePOS-Print element")
        }
        try reader.finish()
        return element
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for byte in text.utf8 {
            let nibble: UInt8
            switch byte {
            case 0x30...0x39: nibble = byte - 0x30
            case 0x41...0x46: nibble = byte - 0x37
            case 0x61...0x66: nibble = byte - 0x57
            default: return nil
            }
            if let value = high {
                out.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? out : nil
    }

    /// The SDK's escapes in barcode and symbol data: `\\` is a backslash and `\xNN` a byte; any other backslash is an
    /// error. Other characters are their UTF-8 bytes.
    static func unescape(_ text: String, _ element: String) throws(CompatError) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte != 0x5C {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { throw .schema("<\(element)>: a backslash ends the data (write \\\\ for one)") }
            if bytes[index + 1] == 0x5C {
                out.append(0x5C)
                index += 2
            } else if bytes[index + 1] == 0x78, index + 3 < bytes.count,
                      let value = hexBytes(String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self)) {
                out += value
                index += 4
            } else {
                throw .schema("<\(element)>: a backslash starts \\\\ or \\xNN")
            }
        }
        return out
    }
}
