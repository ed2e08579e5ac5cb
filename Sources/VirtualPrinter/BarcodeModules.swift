/// Turns `GS k` data into bar modules (true = bar) for the preview, per symbology.
enum BarcodeModules {
    static let eanL = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
    static let eanParity = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]

    static func bits(_ pattern: String) -> [Bool] { pattern.map { $0 == "1" } }
    static func rCode(_ digit: Int) -> [Bool] { bits(eanL[digit]).map { !$0 } }
    static func gCode(_ digit: Int) -> [Bool] { rCode(digit).reversed() }

    /// EAN-13 (and UPC-A as EAN-13 with a leading 0) from 13 digits.
    static func ean13(_ digits: [Int]) -> [Bool]? {
        guard digits.count == 13 else { return nil }
        var out = bits("101")
        let parity = Array(eanParity[digits[0]])
        for i in 1...6 { out += parity[i - 1] == "L" ? bits(eanL[digits[i]]) : gCode(digits[i]) }
        out += bits("01010")
        for i in 7...12 { out += rCode(digits[i]) }
        out += bits("101")
        return out
    }

    static func ean8(_ digits: [Int]) -> [Bool]? {
        guard digits.count == 8 else { return nil }
        var out = bits("101")
        for i in 0..<4 { out += bits(eanL[digits[i]]) }
        out += bits("01010")
        for i in 4..<8 { out += rCode(digits[i]) }
        out += bits("101")
        return out
    }

    static let code39: [Character: String] = [
        "0": "nnnwwnwnn", "1": "wnnwnnnnw", "2": "nnwwnnnnw", "3": "wnwwnnnnn", "4": "nnnwwnnnw", "5": "wnnwwnnnn",
        "6": "nnwwwnnnn", "7": "nnnwnnwnw", "8": "wnnwnnwnn", "9": "nnwwnnwnn", "A": "wnnnnwnnw", "B": "nnwnnwnnw",
        "C": "wnwnnwnnn", "D": "nnnnwwnnw", "E": "wnnnwwnnn", "F": "nnwnwwnnn", "G": "nnnnnwwnw", "H": "wnnnnwwnn",
        "I": "nnwnnwwnn", "J": "nnnnwwwnn", "K": "wnnnnnnww", "L": "nnwnnnnww", "M": "wnwnnnnwn", "N": "nnnnwnnww",
        "O": "wnnnwnnwn", "P": "nnwnwnnwn", "Q": "nnnnnnwww", "R": "wnnnnnwwn", "S": "nnwnnnwwn", "T": "nnnnwnwwn",
        "U": "wwnnnnnnw", "V": "nwwnnnnnw", "W": "wwwnnnnnn", "X": "nwnnwnnnw", "Y": "wwnnwnnnn", "Z": "nwwnwnnnn",
        "-": "nwnnnnwnw", ".": "wwnnnnwnn", " ": "nwwnnnwnn", "*": "nwnnwnwnn", "$": "nwnwnwnnn", "/": "nwnwnnnwn",
        "+": "nwnnnwnwn", "%": "nnnwnwnwn",
    ]

    static func code39(_ text: String) -> [Bool]? {
        var out: [Bool] = []
        for character in "*" + text + "*" {
            guard let pattern = code39[character] else { return nil }
            for (index, element) in pattern.enumerated() {
                out += Array(repeating: index % 2 == 0, count: element == "w" ? 3 : 1)
            }
            out.append(false)  // inter-character gap
        }
        return out
    }

    // swiftformat:disable all
    static let code128 = [
        "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
        "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
        "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
        "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
        "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
        "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
        "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
        "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
        "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
        "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
        "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
    ]
    // swiftformat:enable all

    /// CODE128 from `GS k 73` data, which starts with `{A`, `{B` or `{C`; `{{` is a literal brace.
    static func code128(_ data: [UInt8]) -> (modules: [Bool], text: String)? {
        guard data.count >= 2, data[0] == 0x7B else { return nil }
        var values: [Int] = []
        var text = ""
        var set: UInt8 = data[1]
        switch set {
        case 0x41: values.append(103)
        case 0x42: values.append(104)
        case 0x43: values.append(105)
        default: return nil
        }
        var index = 2
        while index < data.count {
            let byte = data[index]
            if byte == 0x7B, index + 1 < data.count, data[index + 1] != 0x7B {
                let next = data[index + 1]
                index += 2
                switch next {
                case 0x41: values.append(101); set = 0x41
                case 0x42: values.append(100); set = 0x42
                case 0x43: values.append(99); set = 0x43
                default: break  // FNC codes and shifts are not drawn in the preview
                }
                continue
            }
            if byte == 0x7B { index += 1 }
            switch set {
            case 0x43:
                guard byte < 100 else { return nil }
                values.append(Int(byte))
                text += (byte < 10 ? "0" : "") + String(byte)
            case 0x41:
                // Set A holds 0x00-0x5F only (found by the interpreter fuzz target: 0xF1 indexed past the table).
                guard byte < 0x60 else { return nil }
                values.append(byte < 0x20 ? Int(byte) + 64 : Int(byte) - 32)
                text.append(Character(Unicode.Scalar(byte)))
            default:
                guard byte >= 0x20, byte < 0x80 else { return nil }
                values.append(Int(byte) - 32)
                text.append(Character(Unicode.Scalar(byte)))
            }
            index += 1
        }
        var checksum = values[0]
        for (position, value) in values.enumerated().dropFirst() { checksum += position * value }
        values.append(checksum % 103)
        values.append(106)
        var modules: [Bool] = []
        for value in values {
            for (position, width) in code128[value].enumerated() {
                modules += Array(repeating: position % 2 == 0, count: Int(String(width))!)
            }
        }
        return (modules, text)
    }
}
