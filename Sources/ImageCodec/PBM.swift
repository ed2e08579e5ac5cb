import Raster

/// Netpbm bitmaps: P1 (ASCII) and P4 (binary). 1 = black.
enum PBM {
    static func decode(_ data: [UInt8]) throws(ImageCodecError) -> GrayImage {
        var index = 2
        func skipSpaceAndComments() {
            while index < data.count {
                if data[index] == 0x23 {  // '#'
                    while index < data.count, data[index] != 0x0A { index += 1 }
                } else if [0x20, 0x09, 0x0A, 0x0D].contains(data[index]) {
                    index += 1
                } else {
                    return
                }
            }
        }
        func number() throws(ImageCodecError) -> Int {
            skipSpaceAndComments()
            var value = 0
            var digits = 0
            while index < data.count, data[index] >= 0x30, data[index] <= 0x39 {
                value = value * 10 + Int(data[index] - 0x30)
                index += 1
                digits += 1
                guard value <= 1_000_000 else { throw .pbm("the size field is too large") }
            }
            guard digits > 0 else { throw .pbm("the header has no width or height") }
            return value
        }
        let binary = data[1] == 0x34
        let width = try number()
        let height = try number()
        guard width > 0, height > 0 else { throw .pbm("the image is empty") }
        guard ImageCodec.acceptable(width: width, height: height) else {
            throw .tooLarge(width: width, height: height)
        }
        var image = GrayImage(width: width, height: height)
        if binary {
            index += 1  // exactly one whitespace byte after the height
            let rowBytes = (width + 7) / 8
            guard data.count - index >= rowBytes * height else {
                throw .pbm("the file ends early: \(rowBytes * height) data bytes expected, \(data.count - index) found")
            }
            for y in 0..<height {
                for x in 0..<width where data[index + y * rowBytes + x / 8] & (0x80 >> UInt8(x % 8)) != 0 {
                    image[x, y] = 0
                }
            }
        } else {
            for y in 0..<height {
                for x in 0..<width {
                    skipSpaceAndComments()
                    guard index < data.count else { throw .pbm("the file ends early at pixel \(x),\(y)") }
                    switch data[index] {
                    case 0x31: image[x, y] = 0
                    case 0x30: break
                    default: throw .pbm("unexpected byte 0x\(String(data[index], radix: 16)) in pixel data")
                    }
                    index += 1
                }
            }
        }
        return image
    }
}
