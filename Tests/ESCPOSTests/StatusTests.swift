import ESCPOS
import Testing

@Suite("DLE EOT status parsing")
struct StatusTests {
    @Test("the request bytes are DLE EOT n for n = 1...4")
    func requests() {
        #expect(StatusQuery.allCases.map { Command.statusRequest($0).bytes } == [
            [0x10, 0x04, 1], [0x10, 0x04, 2], [0x10, 0x04, 3], [0x10, 0x04, 4],
        ])
    }

    @Test("printer status: online, offline, drawer signal")
    func printer() throws {
        let ok = try PrinterStatus.parse(0x12, for: .printer)
        #expect(ok.online == true && ok.drawerSignalHigh == false)
        #expect(try PrinterStatus.parse(0x16, for: .printer).drawerSignalHigh == true)
        #expect(try PrinterStatus.parse(0x1A, for: .printer).online == false)
    }

    @Test("offline cause: cover open, paper fed by button, paper end, error")
    func offlineCause() throws {
        let cover = try PrinterStatus.parse(0x16, for: .offlineCause)
        #expect(cover.coverOpen == true && cover.paperFedByButton == false)
        #expect(try PrinterStatus.parse(0x1A, for: .offlineCause).paperFedByButton == true)
        let end = try PrinterStatus.parse(0x32, for: .offlineCause)
        #expect(end.stoppedByPaperEnd == true)
        #expect(end.blockingProblem?.contains("paper") == true)
        #expect(try PrinterStatus.parse(0x52, for: .offlineCause).errorOccurred == true)
        #expect(cover.blockingProblem?.contains("cover") == true)
    }

    @Test("error cause: recoverable, auto-cutter, unrecoverable")
    func errorCause() throws {
        #expect(try PrinterStatus.parse(0x12, for: .errorCause).errors == [])
        #expect(try PrinterStatus.parse(0x16, for: .errorCause).errors == [.recoverable])
        #expect(try PrinterStatus.parse(0x1A, for: .errorCause).errors == [.autoCutter])
        #expect(try PrinterStatus.parse(0x32, for: .errorCause).errors == [.unrecoverable])
        #expect(try PrinterStatus.parse(0x52, for: .errorCause).errors == [.autoRecoverable])
        #expect(try PrinterStatus.parse(0x3A, for: .errorCause).errors == [.autoCutter, .unrecoverable])
        // A recoverable error is named as such, not as "offline".
        var recoverable = try PrinterStatus.parse(0x1A, for: .printer)
        try recoverable.apply(0x16, for: .errorCause)
        #expect(recoverable.blockingProblem?.contains("recoverable error") == true && recoverable.blockingProblem?.contains("offline") == false)
        var hot = try PrinterStatus.parse(0x1A, for: .printer)
        try hot.apply(0x52, for: .errorCause)
        #expect(hot.blockingProblem?.contains("auto-recoverable") == true, "\(hot.blockingProblem ?? "")")
    }

    @Test("one message lists every blocking condition")
    func allConditions() throws {
        var status = try PrinterStatus.parse(0x1A, for: .printer)
        try status.apply(0x36, for: .offlineCause)  // cover open and stopped by paper end
        try status.apply(0x72, for: .rollPaper)
        try status.apply(0x1A, for: .errorCause)  // auto-cutter
        let message = try #require(status.blockingProblem)
        #expect(message.contains("cover is open") && message.contains("out of paper") && message.contains("auto-cutter"), "\(message)")
    }

    @Test("roll paper: ok, near end, end")
    func paper() throws {
        #expect(try PrinterStatus.parse(0x12, for: .rollPaper).paper == .ok)
        #expect(try PrinterStatus.parse(0x1E, for: .rollPaper).paper == .nearEnd)
        #expect(try PrinterStatus.parse(0x72, for: .rollPaper).paper == .out)
        #expect(try PrinterStatus.parse(0x7E, for: .rollPaper).paper == .out)
        #expect(try PrinterStatus.parse(0x72, for: .rollPaper).blockingProblem != nil)
        #expect(try PrinterStatus.parse(0x1E, for: .rollPaper).blockingProblem == nil)
    }

    @Test("answers merge into one status")
    func merge() throws {
        var status = PrinterStatus()
        try status.apply(0x12, for: .printer)
        try status.apply(0x1E, for: .rollPaper)
        #expect(status.online == true && status.paper == .nearEnd && status.coverOpen == nil)
    }

    @Test("bytes failing the validity mask are rejected and change nothing", arguments: [0x00, 0xFF, 0x13, 0x10, 0x92, 0x02, 0x5F] as [UInt8])
    func invalid(byte: UInt8) throws {
        var status = PrinterStatus()
        try status.apply(0x12, for: .printer)
        let before = status
        for query in StatusQuery.allCases {
            #expect(throws: ESCPOSError.invalidStatusByte(query: query, byte: byte)) { try status.apply(byte, for: query) }
        }
        #expect(status == before)
    }

    @Test("every valid byte parses and every invalid one throws")
    func exhaustive() {
        for value in 0...255 {
            let byte = UInt8(value)
            let valid = byte & 0x93 == 0x12
            for query in StatusQuery.allCases {
                let parsed = try? PrinterStatus.parse(byte, for: query)
                #expect((parsed != nil) == valid)
            }
        }
    }
}
