import ESCPOS
import Testing

/// National characters through the code pages a profile declares (bytes from shared/reference/escpos.md §2.2).
@Suite("Text encoding through code pages")
struct TextEncodingTests {
    func encode(_ text: String, _ profile: PrinterProfile) -> (bytes: [UInt8], warnings: [EncodingWarning]) {
        var writer = ESCPOSWriter(profile: profile)
        writer.text(text)
        return (writer.bytes, writer.warnings)
    }

    @Test("Polish in CP852")
    func polishCP852() {
        let result = encode("ąęłńśźżóć ĄĘŁŃŚŹŻÓĆ", Profiles.withPages(["0": "CP437", "18": "CP852"]))
        #expect(result.bytes == [0x1B, 0x74, 18, 0xA5, 0xA9, 0x88, 0xE4, 0x98, 0xAB, 0xBE, 0xA2, 0x86, 0x20,
                                 0xA4, 0xA8, 0x9D, 0xE3, 0x97, 0x8D, 0xBD, 0xE0, 0x8F])
        #expect(result.warnings.isEmpty)
    }

    @Test("Polish in ISO-8859-2")
    func polishISO88592() {
        let result = encode("ąęłńśźżóć", Profiles.withPages(["39": "ISO_8859-2"]))
        #expect(result.bytes == [0x1B, 0x74, 39, 0xB1, 0xEA, 0xB3, 0xF1, 0xB6, 0xBC, 0xBF, 0xF3, 0xE6])
    }

    @Test("Swedish, Danish and Norwegian in CP437, CP850, CP865 and CP1252")
    func nordic() {
        #expect(encode("åäöÅÄÖ", Profiles.withPages(["0": "CP437"])).bytes == [0x1B, 0x74, 0, 0x86, 0x84, 0x94, 0x8F, 0x8E, 0x99])
        #expect(encode("åäö", Profiles.withPages(["2": "CP850"])).bytes == [0x1B, 0x74, 2, 0x86, 0x84, 0x94])
        #expect(encode("æøÆØ", Profiles.withPages(["5": "CP865"])).bytes == [0x1B, 0x74, 5, 0x91, 0x9B, 0x92, 0x9D])
        #expect(encode("åäöæø", Profiles.withPages(["16": "CP1252"])).bytes == [0x1B, 0x74, 16, 0xE5, 0xE4, 0xF6, 0xE6, 0xF8])
    }

    @Test("German ß and umlauts")
    func german() {
        var expected: [UInt8] = Array("Wei".utf8)
        expected += [0x1B, 0x74, 0, 0xE1, 0x77, 0x81]
        expected += Array("rste ".utf8)
        expected += [0x99, 0x6C]
        #expect(encode("Weißwürste Öl", Profiles.withPages(["0": "CP437"])).bytes == expected)
        #expect(encode("ßüÄ", Profiles.withPages(["40": "ISO_8859-15"])).bytes == [0x1B, 0x74, 40, 0xDF, 0xFC, 0xC4])
    }

    @Test("the euro sign in CP858, CP1252 and ISO-8859-15")
    func euro() {
        #expect(encode("€", Profiles.withPages(["19": "CP858"])).bytes == [0x1B, 0x74, 19, 0xD5])
        #expect(encode("€", Profiles.withPages(["16": "CP1252"])).bytes == [0x1B, 0x74, 16, 0x80])
        #expect(encode("€", Profiles.withPages(["40": "ISO_8859-15"])).bytes == [0x1B, 0x74, 40, 0xA4])
        // CP437 and CP852 have no euro: the encoder must pick the page that does.
        #expect(encode("€", Profiles.withPages(["0": "CP437", "18": "CP852", "19": "CP858"])).bytes == [0x1B, 0x74, 19, 0xD5])
    }

    @Test("Cyrillic in CP866")
    func cyrillic() {
        #expect(encode("Привет", Profiles.withPages(["0": "CP437", "17": "CP866"])).bytes
            == [0x1B, 0x74, 17, 0x8F, 0xE0, 0xA8, 0xA2, 0xA5, 0xE2])
    }

    @Test("a Polish name next to a euro price switches code pages mid-line, only where needed")
    func mixedLine() {
        let result = encode("Łódź 5,00 €", Profiles.withPages(["0": "CP437", "18": "CP852", "19": "CP858"]))
        // Ł is in CP852 (slot 18), € is not: it needs CP858 (slot 19).
        var expected: [UInt8] = [0x1B, 0x74, 18, 0x9D, 0xA2, 0x64, 0xAB]
        expected += Array(" 5,00 ".utf8)
        expected += [0x1B, 0x74, 19, 0xD5]
        #expect(result.bytes == expected)
        #expect(result.warnings.isEmpty)
    }

    @Test("when one page holds the whole line, the encoder picks it and switches once")
    func onePageForTheLine() {
        // The Epson profile also has CP1250 (slot 45), which has Ł, ó, ź and €.
        let result = encode("Łódź 5,00 €", Profiles.epson)
        var expected: [UInt8] = [0x1B, 0x74, 45, 0xA3, 0xF3, 0x64, 0x9F]
        expected += Array(" 5,00 ".utf8)
        expected.append(0x80)
        #expect(result.bytes == expected)
    }

    @Test("no redundant ESC t while the current page still fits")
    func stickyPage() {
        var writer = ESCPOSWriter(profile: Profiles.epson)
        writer.line("Smörgås")
        writer.line("Köttbullar")
        let selects = writer.bytes.indices.filter { writer.bytes[$0] == 0x1B && writer.bytes[$0 + 1] == 0x74 }
        #expect(selects.count == 1)
    }

    @Test("a character no page has becomes a visible '?' and a warning")
    func unprintable() {
        let result = encode("Tea 茶 ☕", Profiles.withPages(["0": "CP437", "19": "CP858"]))
        #expect(result.bytes == Array("Tea ? ?".utf8))
        #expect(result.warnings.count == 2)
        #expect(result.warnings.allSatisfy { $0.kind == .unprintableCharacter })
        #expect(result.warnings[0].message.contains("U+8336"))
    }

    @Test("control characters inside text never reach the printer")
    func controlCharacters() {
        let result = encode("A\u{1B}@B\u{10}\u{04}", Profiles.epson)
        #expect(!result.bytes.contains(0x1B))
        #expect(!result.bytes.contains(0x10))
        #expect(result.warnings.count == 3)
    }

    @Test("typographic quotes and dashes have ASCII stand-ins when no page has them")
    func substitutes() {
        #expect(encode("“Hi” – ok…", Profiles.withPages(["0": "CP437"])).bytes == Array("\"Hi\" - ok...".utf8))
    }

    @Test("decomposed accents are composed before encoding")
    func decomposed() {
        #expect(encode("e\u{301}", Profiles.withPages(["0": "CP437"])).bytes == [0x1B, 0x74, 0, 0x82])
    }

    @Test("Star printers select pages with ESC GS t")
    func star() {
        let star = TestSupportProfiles.star
        let result = encode("å", star)
        #expect(Array(result.bytes.prefix(3)) == [0x1B, 0x1D, 0x74])
    }

    @Test("every code page the issue names round-trips its upper half")
    func tablesRoundTrip() throws {
        for name in ["CP437", "CP850", "CP852", "CP858", "CP866", "CP1252", "ISO_8859-2", "ISO_8859-15"] {
            let page = try #require(CodePage.named(name))
            for byte in UInt8(0x80)...UInt8(0xFF) {
                let scalar = page.scalar(for: byte)
                if scalar.value == 0xFFFD { continue }
                #expect(page.byte(for: scalar) == byte, "\(name) 0x\(String(byte, radix: 16))")
            }
        }
    }
}

enum TestSupportProfiles {
    static var star: PrinterProfile {
        var profile = Profiles.epson
        profile.features.starCommands = true
        profile.codePages = ["0": "CP437"]
        return profile
    }
}
