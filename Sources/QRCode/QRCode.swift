/// A QR Code (ISO/IEC 18004, model 2) symbol: a square grid of dark and light modules.
///
/// The encoder is pure Swift with no I/O. It supports byte mode (UTF-8), alphanumeric and numeric
/// segments, versions 1...40, all four error-correction levels and automatic mask selection.
public struct QRCode: Sendable, Equatable {
    /// Error-correction level: how much of the symbol may be damaged and still decode.
    public enum ErrorCorrection: Int, Sendable, CaseIterable, Codable {
        case low = 0, medium, quartile, high

        /// The two format bits of this level (L=01, M=00, Q=11, H=10).
        var formatBits: Int {
            switch self {
            case .low: return 1
            case .medium: return 0
            case .quartile: return 3
            case .high: return 2
            }
        }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The data does not fit into a version-40 symbol at the requested level.
        case dataTooLong(bytes: Int, level: ErrorCorrection)

        public var description: String {
            switch self {
            case .dataTooLong(let bytes, let level):
                return "QR data of \(bytes) bytes does not fit a QR code at error-correction level \(level); "
                    + "shorten the data or choose a lower level"
            }
        }
    }

    /// Version 1...40; the symbol is `17 + 4 * version` modules wide.
    public let version: Int
    public let errorCorrection: ErrorCorrection
    /// The mask pattern chosen (0...7).
    public let mask: Int
    /// Side length in modules.
    public let size: Int
    /// Row-major modules, `true` = dark.
    public let modules: [Bool]

    public subscript(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    /// The smallest version that holds `data` at `errorCorrection`, or nil when even version 40 is too small.
    /// Cheap: it sizes the bit stream without building the symbol.
    public static func minimumVersion(for data: [UInt8], errorCorrection: ErrorCorrection) -> Int? {
        let (mode, dataBits) = Segment.measure(data)
        for version in 1...40 {
            let capacityBits = QRTables.dataCodewords(version: version, level: errorCorrection) * 8
            let countBits = mode.countBits(version: version)
            if data.count < (1 << countBits), 4 + countBits + dataBits <= capacityBits { return version }
        }
        return nil
    }

    /// Encodes `data` choosing the smallest version that fits.
    public init(data: [UInt8], errorCorrection: ErrorCorrection = .medium, minimumVersion: Int = 1) throws {
        let segment = Segment.make(for: data)
        var chosen: Int?
        for version in max(1, minimumVersion)...40 {
            let capacityBits = QRTables.dataCodewords(version: version, level: errorCorrection) * 8
            if let used = segment.totalBits(version: version), used <= capacityBits {
                chosen = version
                break
            }
        }
        guard let version = chosen else {
            throw Failure.dataTooLong(bytes: data.count, level: errorCorrection)
        }
        self.version = version
        self.errorCorrection = errorCorrection
        self.size = 17 + 4 * version

        // Bit stream: mode, count, data, terminator, padding.
        var bits = BitBuffer()
        bits.append(segment.mode.indicator, count: 4)
        bits.append(segment.count, count: segment.mode.countBits(version: version))
        bits.append(contentsOf: segment.bits)
        let capacityBits = QRTables.dataCodewords(version: version, level: errorCorrection) * 8
        bits.append(0, count: min(4, capacityBits - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var pad: UInt8 = 0xEC
        while bits.count < capacityBits {
            bits.append(Int(pad), count: 8)
            pad ^= 0xEC ^ 0x11
        }
        let codewords = QRCode.addErrorCorrection(bits.bytes, version: version, level: errorCorrection)

        var grid = ModuleGrid(size: size)
        grid.drawFunctionPatterns(version: version)
        grid.drawCodewords(codewords)

        var bestMask = 0
        var bestPenalty = Int.max
        for candidate in 0..<8 {
            var trial = grid
            trial.applyMask(candidate)
            trial.drawFormatBits(level: errorCorrection, mask: candidate)
            let penalty = trial.penalty()
            if penalty < bestPenalty {
                bestPenalty = penalty
                bestMask = candidate
            }
        }
        grid.applyMask(bestMask)
        grid.drawFormatBits(level: errorCorrection, mask: bestMask)
        self.mask = bestMask
        self.modules = grid.dark
    }

    /// Encodes a string as UTF-8 (or as numeric/alphanumeric when it only holds those characters).
    public init(text: String, errorCorrection: ErrorCorrection = .medium) throws {
        try self.init(data: Array(text.utf8), errorCorrection: errorCorrection)
    }

    /// Splits data into blocks, appends Reed-Solomon codewords and interleaves them.
    static func addErrorCorrection(_ data: [UInt8], version: Int, level: ErrorCorrection) -> [UInt8] {
        let blockCount = QRTables.blockCount(version: version, level: level)
        let eccLength = QRTables.eccCodewordsPerBlock(version: version, level: level)
        let rawCodewords = QRTables.rawDataModules(version: version) / 8
        let shortBlocks = blockCount - rawCodewords % blockCount
        let shortBlockLength = rawCodewords / blockCount
        let divisor = ReedSolomon.generator(degree: eccLength)

        var blocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blockCount {
            let dataLength = shortBlockLength - eccLength + (index < shortBlocks ? 0 : 1)
            var block = Array(data[offset..<offset + dataLength])
            offset += dataLength
            let ecc = ReedSolomon.remainder(block, divisor: divisor)
            if index < shortBlocks { block.append(0) }  // placeholder keeps columns aligned
            block.append(contentsOf: ecc)
            blocks.append(block)
        }
        var result: [UInt8] = []
        result.reserveCapacity(rawCodewords)
        for column in 0..<blocks[0].count {
            for (index, block) in blocks.enumerated() {
                if column != shortBlockLength - eccLength || index >= shortBlocks {
                    result.append(block[column])
                }
            }
        }
        return result
    }
}

/// A run of data in one encoding mode.
struct Segment {
    enum Mode {
        case numeric, alphanumeric, byte

        var indicator: Int {
            switch self {
            case .numeric: return 1
            case .alphanumeric: return 2
            case .byte: return 4
            }
        }

        func countBits(version: Int) -> Int {
            let group = version <= 9 ? 0 : (version <= 26 ? 1 : 2)
            switch self {
            case .numeric: return [10, 12, 14][group]
            case .alphanumeric: return [9, 11, 13][group]
            case .byte: return [8, 16, 16][group]
            }
        }
    }

    static let alphanumericCharset = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)

    let mode: Mode
    let count: Int
    let bits: BitBuffer

    /// The mode `make` would choose and the number of data bits it would produce.
    static func measure(_ data: [UInt8]) -> (Mode, Int) {
        if !data.isEmpty, data.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return (.numeric, data.count / 3 * 10 + [0, 4, 7][data.count % 3])
        }
        if !data.isEmpty, data.allSatisfy({ alphanumericCharset.contains($0) }) {
            return (.alphanumeric, data.count / 2 * 11 + (data.count % 2) * 6)
        }
        return (.byte, data.count * 8)
    }

    static func make(for data: [UInt8]) -> Segment {
        var bits = BitBuffer()
        if !data.isEmpty, data.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            var index = 0
            while index < data.count {
                let chunk = data[index..<min(index + 3, data.count)]
                let value = chunk.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                bits.append(value, count: chunk.count * 3 + 1)
                index += 3
            }
            return Segment(mode: .numeric, count: data.count, bits: bits)
        }
        if !data.isEmpty, data.allSatisfy({ alphanumericCharset.contains($0) }) {
            var index = 0
            while index < data.count {
                let first = alphanumericCharset.firstIndex(of: data[index])!
                if index + 1 < data.count {
                    let second = alphanumericCharset.firstIndex(of: data[index + 1])!
                    bits.append(first * 45 + second, count: 11)
                } else {
                    bits.append(first, count: 6)
                }
                index += 2
            }
            return Segment(mode: .alphanumeric, count: data.count, bits: bits)
        }
        for byte in data { bits.append(Int(byte), count: 8) }
        return Segment(mode: .byte, count: data.count, bits: bits)
    }

    /// Total bits including header for `version`, or nil when the count field overflows.
    func totalBits(version: Int) -> Int? {
        let countBits = mode.countBits(version: version)
        guard count < (1 << countBits) else { return nil }
        return 4 + countBits + bits.count
    }
}

struct BitBuffer {
    private(set) var storage: [Bool] = []
    var count: Int { storage.count }

    mutating func append(_ value: Int, count: Int) {
        guard count > 0 else { return }
        for shift in stride(from: count - 1, through: 0, by: -1) {
            storage.append((value >> shift) & 1 == 1)
        }
    }

    mutating func append(contentsOf other: BitBuffer) {
        storage.append(contentsOf: other.storage)
    }

    var bytes: [UInt8] {
        var result = [UInt8](repeating: 0, count: (storage.count + 7) / 8)
        for (index, bit) in storage.enumerated() where bit {
            result[index >> 3] |= UInt8(0x80 >> (index & 7))
        }
        return result
    }
}
