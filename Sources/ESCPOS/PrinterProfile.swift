import Synchronization
/// What a printer model can do: paper, fonts, code-page slots and feature flags.
///
/// Profiles are data (`Hardware/profiles/*.json`); this type is their in-memory form.
public struct PrinterProfile: Sendable, Codable, Equatable {
    public struct Paper: Sendable, Codable, Equatable {
        public var widthMillimetres: Double
        /// Printable width in dots.
        public var dots: Int
        public var dpi: Int

        public init(widthMillimetres: Double, dots: Int, dpi: Int) {
            self.widthMillimetres = widthMillimetres
            self.dots = dots
            self.dpi = dpi
        }
    }

    public struct Font: Sendable, Codable, Equatable {
        public var name: String
        public var columns: Int

        public init(name: String, columns: Int) {
            self.name = name
            self.columns = columns
        }
    }

    public struct Features: Sendable, Codable, Equatable {
        public var nativeQR: Bool
        public var fullCut: Bool
        public var partialCut: Bool
        public var rasterImage: Bool
        public var graphics: Bool
        public var drawerPulse: Bool
        public var drawerPulseBel: Bool
        public var barcodeA: Bool
        public var barcodeB: Bool
        public var starCommands: Bool
        public var beeper: Bool
        /// `GS ( D` can switch off real-time commands while image data is sent.
        public var disableRealtimeCommands: Bool
        /// Send `FS .` after `ESC @`, for clones that power on in Chinese double-byte mode.
        public var cancelKanjiMode: Bool
        /// The printer can store a logo in non-volatile memory (`GS ( L` fn 67/69).
        public var storedLogo: Bool
        /// `ESC $` (absolute print position) moves to a column; used instead of runs of padding spaces.
        public var absolutePosition: Bool
        /// The printer answers Epson's process-ID request (`GS ( H` fn 48) once everything before it has been printed:
        /// a job is then confirmed as printed, not only as received. The printer database does not say which models
        /// have it; a user profile turns it on (decision 0017).
        public var processIDResponse: Bool

        public init(
            nativeQR: Bool = false, fullCut: Bool = false, partialCut: Bool = false, rasterImage: Bool = true,
            graphics: Bool = false, drawerPulse: Bool = true, drawerPulseBel: Bool = false, barcodeA: Bool = false,
            barcodeB: Bool = false, starCommands: Bool = false, beeper: Bool = false,
            disableRealtimeCommands: Bool = false, cancelKanjiMode: Bool = false, storedLogo: Bool = false,
            absolutePosition: Bool = true, processIDResponse: Bool = false
        ) {
            self.nativeQR = nativeQR
            self.fullCut = fullCut
            self.partialCut = partialCut
            self.rasterImage = rasterImage
            self.graphics = graphics
            self.drawerPulse = drawerPulse
            self.drawerPulseBel = drawerPulseBel
            self.barcodeA = barcodeA
            self.barcodeB = barcodeB
            self.starCommands = starCommands
            self.beeper = beeper
            self.disableRealtimeCommands = disableRealtimeCommands
            self.cancelKanjiMode = cancelKanjiMode
            self.storedLogo = storedLogo
            self.absolutePosition = absolutePosition
            self.processIDResponse = processIDResponse
        }

        enum CodingKeys: String, CodingKey {
            case nativeQR, fullCut, partialCut, rasterImage, graphics, drawerPulse, drawerPulseBel, barcodeA, barcodeB
            case starCommands, beeper, disableRealtimeCommands, cancelKanjiMode, storedLogo, absolutePosition, processIDResponse
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func flag(_ key: CodingKeys, _ fallback: Bool) throws -> Bool {
                try c.decodeIfPresent(Bool.self, forKey: key) ?? fallback
            }
            self.init(
                nativeQR: try flag(.nativeQR, false), fullCut: try flag(.fullCut, false),
                partialCut: try flag(.partialCut, false), rasterImage: try flag(.rasterImage, true),
                graphics: try flag(.graphics, false), drawerPulse: try flag(.drawerPulse, true),
                drawerPulseBel: try flag(.drawerPulseBel, false), barcodeA: try flag(.barcodeA, false),
                barcodeB: try flag(.barcodeB, false), starCommands: try flag(.starCommands, false),
                beeper: try flag(.beeper, false), disableRealtimeCommands: try flag(.disableRealtimeCommands, false),
                cancelKanjiMode: try flag(.cancelKanjiMode, false), storedLogo: try flag(.storedLogo, false),
                absolutePosition: try flag(.absolutePosition, !(try flag(.starCommands, false))),
                processIDResponse: try flag(.processIDResponse, false)
            )
        }
    }

    public var id: String
    public var name: String
    public var vendor: String
    public var notes: String
    public var paper: Paper
    public var fonts: [Font]
    /// Slot number (the `n` of `ESC t n`) to encoding name, e.g. `"19": "CP858"`.
    public var codePages: [String: String]
    public var features: Features
    /// Code pages to try first, by name, before the slot order (e.g. `["CP858", "CP852"]`).
    public var preferredCodePages: [String]?
    public var source: String?

    public init(
        id: String, name: String, vendor: String = "Generic", notes: String = "", paper: Paper, fonts: [Font],
        codePages: [String: String], features: Features, preferredCodePages: [String]? = nil, source: String? = nil
    ) {
        self.id = id
        self.name = name
        self.vendor = vendor
        self.notes = notes
        self.paper = paper
        self.fonts = fonts
        self.codePages = codePages
        self.features = features
        self.preferredCodePages = preferredCodePages
        self.source = source
    }

    /// Columns of font `index` (0 = A, 1 = B); falls back to font A.
    public func columns(font: TextStyle.Font) -> Int {
        let index = font == .b ? 1 : 0
        return fonts.indices.contains(index) ? fonts[index].columns : fonts.first?.columns ?? 32
    }

    /// Width in dots of one character cell of `font`.
    public func cellWidth(font: TextStyle.Font) -> Int {
        max(1, paper.dots / max(1, columns(font: font)))
    }

    /// The code-page slots this encoder can drive, in slot order, without duplicate encodings. Every job's encoder asks
    /// for it, so the answer is kept per code-page table (a pure function of it; at most 64 tables are kept).
    public var usableCodePages: [(slot: UInt8, page: CodePage)] {
        if let known = Self.usableCache.withLock({ $0[codePages] }) { return known }
        let result = Self.computeUsableCodePages(codePages)
        Self.usableCache.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[codePages] = result
        }
        return result
    }

    private static let usableCache = Mutex<[[String: String]: [(slot: UInt8, page: CodePage)]]>([:])

    private static func computeUsableCodePages(_ codePages: [String: String]) -> [(slot: UInt8, page: CodePage)] {
        var seen = Set<String>()
        var result: [(UInt8, CodePage)] = []
        for (slotText, name) in codePages.sorted(by: { (Int($0.key) ?? 999) < (Int($1.key) ?? 999) }) {
            guard let slot = UInt8(slotText), let page = CodePage.named(name), !seen.contains(name) else { continue }
            seen.insert(name)
            result.append((slot, page))
        }
        return result
    }
}
