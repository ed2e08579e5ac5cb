import ImageCodec
import Raster
import Testing

@Suite("PNG and PBM decoding")
struct ImageCodecTests {
    @Test("a PNG written by the encoder decodes to the same pixels")
    func roundTrip() throws {
        var image = GrayImage(width: 13, height: 7)
        for y in 0..<7 { for x in 0..<13 { image[x, y] = UInt8((x * 19 + y * 31) % 256) } }
        let png = try ImageCodec.encodePNG(image)
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try ImageCodec.decode(png) == image)
    }

    @Test("PBM P1 and P4 decode, with comments")
    func pbm() throws {
        let p1 = Array("P1\n# logo\n4 2\n1 0 0 1\n0 1 1 0\n".utf8)
        let image = try ImageCodec.decode(p1)
        #expect(image.width == 4 && image.height == 2)
        #expect(image.pixels == [0, 255, 255, 0, 255, 0, 0, 255])
        let p4: [UInt8] = Array("P4\n4 2\n".utf8) + [0b1001_0000, 0b0110_0000]
        #expect(try ImageCodec.decode(p4) == image)
    }

    @Test("malformed images get a clear error", arguments: [
        (Array("GIF89a".utf8), ImageCodecError.unknownFormat),
        (Array("P4\n8 8\n".utf8) + [0xFF], ImageCodecError.pbm("the file ends early: 8 data bytes expected, 1 found")),
        (Array("P1\n2 1\n1 x".utf8), ImageCodecError.pbm("unexpected byte 0x78 in pixel data")),
        (Array("P1\n0 0\n".utf8), ImageCodecError.pbm("the image is empty")),
    ] as [([UInt8], ImageCodecError)])
    func malformed(data: [UInt8], expected: ImageCodecError) {
        #expect(throws: expected) { try ImageCodec.decode(data) }
    }

    @Test("a truncated PNG is reported by libpng, not trapped")
    func truncatedPNG() throws {
        let png = try ImageCodec.encodePNG(GrayImage(width: 64, height: 64, fill: 10))
        #expect(throws: ImageCodecError.self) { try ImageCodec.decode(Array(png.prefix(png.count / 2))) }
        #expect(throws: ImageCodecError.self) { try ImageCodec.decode(Array(png.prefix(20))) }
    }

    @Test("transparent pixels become paper white")
    func alpha() throws {
        // A 1×1 RGBA PNG, fully transparent black, built with Python zlib (the encoder writes greyscale only).
        let png: [UInt8] = [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
            0x89, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x00, 0x02, 0x00,
            0x00, 0x05, 0x00, 0x01, 0x7A, 0x5E, 0xAB, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
            0xAE, 0x42, 0x60, 0x82,
        ]
        #expect(try ImageCodec.decode(png).pixels == [255])
    }
}
