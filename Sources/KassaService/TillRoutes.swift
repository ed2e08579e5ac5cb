import Foundation
import HTTPTypes
import Hummingbird
import KassaRuntime
import PrintSpool
import SessionEngine

extension HTTPStatusKind {
    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .forbidden: .forbidden
        case .unprocessable: .unprocessableContent
        case .conflict: .conflict
        case .notFound: .notFound
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }
}

/// A sale as `POST /v1/till/sales` takes it: the CLI's sale JSON without its `id` (the `Idempotency-Key` is the id).
struct TillSale: Decodable, Sendable {
    var lines: [SaleLineRequest]
    var discount: DiscountRequest?
    var payments: [PaymentRequest]?
    var training: Bool?
    var session: String?
    var late: Bool?
    var fiscalType: String?
}

struct TillRefund: Decodable, Sendable {
    var receipt: Int64
    /// Lines and quantities to refund; every line in full when absent.
    var lines: [RefundRequest.Line]?
    var method: String?
}

struct TillPark: Decodable, Sendable {
    var lines: [SaleLineRequest]
    var discount: DiscountRequest?
    var name: String?
    var visibility: String?
}

struct TillParkUpdate: Decodable, Sendable {
    var version: Int
    var lines: [SaleLineRequest]
    var discount: DiscountRequest?
}

struct TillParkFinalize: Decodable, Sendable {
    var payments: [PaymentRequest]?
}

struct TillShiftOpen: Decodable, Sendable {
    var float: Int64?
    var count: [DenominationCount]?
}

struct TillCash: Decodable, Sendable {
    /// `in` or `out`.
    var type: String
    var amount: Int64
    var reason: String?
}

struct TillShiftClose: Decodable, Sendable {
    var counted: Int64?
    var left: Int64?
    var count: [DenominationCount]?
    var approvedBy: String?
}

/// `{"ok": true, "<key>": value}`.
struct Keyed<T: Encodable>: Encodable {
    let key: String
    let value: T
    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(true, forKey: Key("ok"))
        try container.encode(value, forKey: Key(key))
    }
}

/// A recorded receipt and what the spool does with it: the same `receipt` record as the CLI's `--json`.
struct TillReceiptAnswer: Encodable, Sendable {
    var ok = true
    var receipt: ReceiptRecord
    var print: JobView?
    var printError: String?
    var drawer: JobView?
    var notes: [String] = []
}

struct TillReportAnswer: Encodable, Sendable {
    var ok = true
    var report: ShiftReport
    var print: JobView?
    var printError: String?
}

/// `/v1/till/…`: the session engine with the CLI's semantics, permissions, ids and error codes; the acting user is
/// the token's user. Every command that makes a fact takes the `Idempotency-Key` as its command id.
struct TillRoutes: Sendable {
    let api: APIRoutes
    var server: KassaServer { api.server }
    var till: TillOwner { server.till }

    func register(_ router: Router<ServiceContext>) {
        router.get("/v1/till/terminal") { _, context in try await self.terminal(context) }
        router.post("/v1/till/sales") { request, context in try await self.sale(request, context) }
        router.post("/v1/till/refunds") { request, context in try await self.refund(request, context) }
        router.get("/v1/till/receipts/:number") { request, context in try await self.receipt(request, context) }
        router.post("/v1/till/receipts/:number/copy") { request, context in try await self.copy(request, context) }
        router.post("/v1/till/receipts/:number/print") { request, context in try await self.printOriginal(request, context) }
        router.get("/v1/till/parked") { _, context in try await self.parkedList(context) }
        router.post("/v1/till/parked") { request, context in try await self.park(request, context) }
        router.get("/v1/till/parked/:id") { _, context in try await self.parkedChange(context) { engine, id, user throws(SessionError) in try engine.parkedReceipt(id: id, user: user) } }
        router.put("/v1/till/parked/:id") { request, context in try await self.parkUpdate(request, context) }
        router.post("/v1/till/parked/:id/open") { _, context in try await self.parkedChange(context) { engine, id, user throws(SessionError) in try engine.openParked(id: id, user: user) } }
        router.post("/v1/till/parked/:id/release") { _, context in try await self.parkedChange(context) { engine, id, user throws(SessionError) in try engine.releaseParked(id: id, user: user) } }
        router.post("/v1/till/parked/:id/pay") { _, context in try await self.parkedChange(context) { engine, id, user throws(SessionError) in try engine.startPayment(id: id, user: user) } }
        router.post("/v1/till/parked/:id/void") { _, context in try await self.parkedChange(context) { engine, id, user throws(SessionError) in try engine.voidParked(id: id, user: user) } }
        router.post("/v1/till/parked/:id/finalize") { request, context in try await self.parkFinalize(request, context) }
        router.get("/v1/till/shift") { _, context in try await self.shift(context) }
        router.post("/v1/till/shift/open") { request, context in try await self.shiftOpen(request, context) }
        router.post("/v1/till/shift/continue") { _, context in try await self.shiftContinue(context) }
        router.post("/v1/till/shift/cash") { request, context in try await self.cash(request, context) }
        router.post("/v1/till/shift/close") { request, context in try await self.shiftClose(request, context) }
        router.post("/v1/till/reports/x") { request, context in try await self.xReport(request, context) }
        router.get("/v1/till/reports/z/:number") { _, context in try await self.zReport(context) }
        router.post("/v1/till/reports/z/:number/print") { request, context in try await self.zReprint(request, context) }
    }

    /// The token's user, who must hold the `till` scope.
    func user(_ context: ServiceContext) throws -> String { try context.require(.till).user }

    /// The device a print goes to: `?device=NAME`, else the default device.
    func device(_ request: Request) throws -> DeviceOwner? {
        guard let name = request.uri.queryParameters["device"].map(String.init) else { return nil }
        guard let owner = server.owners[name] else {
            throw APIError.notFound("There is no device '\(name)'; the devices are \(server.owners.keys.sorted().joined(separator: ", ")).")
        }
        return owner
    }

    /// The command id of a fact-making request: its `Idempotency-Key`.
    func commandID(_ request: Request) throws -> String { try api.idempotencyKey(request) }

    func number(_ context: ServiceContext) throws -> Int64 {
        guard let text = context.parameters.get("number"), let number = Int64(text), number > 0 else {
            throw APIError.badRequest("The receipt or Z number is a positive whole number.", code: "INVALID")
        }
        return number
    }

    func ok<T: Encodable>(_ key: String, _ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        try APIJSON.response(Keyed(key: key, value: value), status: status)
    }

    // MARK: Receipts

    /// After a receipt is committed: its one print job (and a cash receipt's drawer kick), then the answer. A replayed
    /// command finds the job its first run spooled and kicks no drawer.
    func answer(_ record: ReceiptRecord, settings: Settings?, device: DeviceOwner?, form: PrintedForm = .original, kick: Bool = true) async throws
        -> Response
    {
        var answer = TillReceiptAnswer(receipt: record)
        let printing = await till.spoolPrint(record, form: form, settings: settings, device: device)
        answer.print = printing.job
        answer.printError = printing.error
        if record.replayed == true {
            answer.notes.append("receipt \(record.number) was already recorded under this Idempotency-Key: its one print job is returned, "
                + "the drawer does not open again")
        } else if kick, form == .original {
            answer.drawer = await till.spoolDrawer(for: record, device: device)?.job
            await server.bus.publish("till.receipt", TillFact(receipt: record.number, id: record.id, kind: record.kind, total: record.total,
                                                              job: printing.job?.id))
        }
        var response = try APIJSON.response(answer, status: record.replayed == true ? .ok : .created)
        if record.replayed == true { response.headers[HTTPField.Name("Idempotent-Replay")!] = "true" }
        return response
    }

    struct TillFact: Encodable, Sendable {
        var receipt: Int64?
        var id: String?
        var kind: String?
        var total: Int64?
        var job: String?
        var shift: String?
        var state: String?
        var z: Int64?
    }

    func sale(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillSale.self, request, context)
        let device = try device(request)
        var sale = SaleRequest(id: id, lines: body.lines, payments: body.payments, discount: body.discount, training: body.training,
                               session: body.session, fiscalType: body.fiscalType)
        sale.late = body.late
        let saleRequest = sale
        let (record, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.finalizeSale(saleRequest, user: user), try? engine.settings()) }
        }
        return try await answer(record, settings: settings, device: device)
    }

    func refund(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillRefund.self, request, context)
        let device = try device(request)
        let (record, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in
                var lines = body.lines ?? []
                if body.lines == nil {
                    lines = try engine.receipt(number: body.receipt).lines.map { RefundRequest.Line(line: $0.lineNumber, quantity: $0.quantity) }
                }
                return (try engine.refund(RefundRequest(id: id, receiptNumber: body.receipt, lines: lines, method: body.method), user: user),
                        try? engine.settings())
            }
        }
        return try await answer(record, settings: settings, device: device)
    }

    func receipt(_ request: Request, _ context: ServiceContext) async throws -> Response {
        _ = try user(context)
        let number = try number(context)
        let training = request.uri.queryParameters["training"] == "true"
        let record = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in try engine.receipt(number: number, training: training) }
        }
        return try ok("receipt", record)
    }

    /// The one copy: recorded (and claimed for the spool) by the engine, then spooled under the receipt's copy key.
    func copy(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        _ = try commandID(request)
        let number = try number(context)
        let device = try device(request)
        let (record, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.copy(number: number, user: user), try? engine.settings()) }
        }
        return try await answer(record, settings: settings, device: device, form: .copy, kick: false)
    }

    /// A late original: only when its first print failed and its shift is open (decision 0017).
    func printOriginal(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        _ = try commandID(request)
        let number = try number(context)
        let device = try device(request)
        let (record, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.printOriginal(number: number, user: user), try? engine.settings()) }
        }
        // The failed first print's job holds the key; the late original gets its own.
        return try await answer(record, settings: settings, device: device, form: .original, kick: false)
    }

    // MARK: Parked receipts

    func parkedList(_ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let list = try await till.run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.parkedReceipts(user: user) } }
        return try ok("parked", list)
    }

    func park(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillPark.self, request, context)
        let parked = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in
                try engine.park(id: id, user: user, lines: body.lines, discount: body.discount, label: body.name, visibility: body.visibility)
            }
        }
        return try ok("parked", parked, status: .created)
    }

    func parkedChange(_ context: ServiceContext, _ change: @escaping @Sendable (SessionEngine, String, String) throws(SessionError) -> ParkedReceipt)
        async throws -> Response
    {
        let user = try user(context)
        let id = context.parameters.get("id") ?? ""
        let parked = try await till.run { engine throws(RuntimeError) in try session { () throws(SessionError) in try change(engine, id, user) } }
        return try ok("parked", parked)
    }

    func parkUpdate(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = context.parameters.get("id") ?? ""
        let body = try await api.decode(TillParkUpdate.self, request, context)
        let parked = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in
                try engine.updateParked(id: id, user: user, expectedVersion: body.version, lines: body.lines, discount: body.discount)
            }
        }
        return try ok("parked", parked)
    }

    func parkFinalize(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = context.parameters.get("id") ?? ""
        let body = try await api.decode(TillParkFinalize.self, request, context)
        let device = try device(request)
        let (record, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.finalizeParked(id: id, user: user, payments: body.payments), try? engine.settings()) }
        }
        return try await answer(record, settings: settings, device: device)
    }

    // MARK: Shifts and reports

    func terminal(_ context: ServiceContext) async throws -> Response {
        _ = try user(context)
        struct Terminal: Encodable, Sendable {
            var ok = true
            var terminal: String
            var currency: String
            var counters: SessionEngine.Counters
            var openShift: ShiftRecord?
            var openRescueShift: ShiftRecord?
        }
        let answer = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in
                Terminal(terminal: engine.terminalID, currency: (try? engine.activeCurrency()) ?? engine.currency, counters: try engine.counters(),
                         openShift: try engine.currentShift(), openRescueShift: try engine.openRescueShift())
            }
        }
        return try APIJSON.response(answer)
    }

    func shift(_ context: ServiceContext) async throws -> Response {
        _ = try user(context)
        let shift = try await till.run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.currentShift() } }
        struct Answer: Encodable { var ok = true; var shift: ShiftRecord? }
        return try APIJSON.response(Answer(shift: shift))
    }

    func shiftOpen(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillShiftOpen.self, request, context)
        let shift = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in try engine.openShift(commandID: id, user: user, countedFloat: body.float, count: body.count) }
        }
        await server.bus.publish("till.shift", TillFact(shift: shift.id, state: shift.state))
        return try ok("shift", shift, status: .created)
    }

    func shiftContinue(_ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let shift = try await till.run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.continueShift(user: user) } }
        return try ok("shift", shift)
    }

    func cash(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillCash.self, request, context)
        guard body.type == "in" || body.type == "out" else {
            throw APIError(.unprocessableContent, "INVALID", "type is in (cash put into the drawer) or out (taken out).")
        }
        let movement = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in try engine.cashMovement(commandID: id, user: user, type: body.type, amount: body.amount, reason: body.reason) }
        }
        return try ok("movement", movement, status: .created)
    }

    func shiftClose(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let body = try await api.decode(TillShiftClose.self, request, context)
        let device = try device(request)
        let (report, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in
                (try engine.closeShift(commandID: id, user: user, countedCash: body.counted, cashLeft: body.left, approvedBy: body.approvedBy,
                                       count: body.count), try? engine.settings())
            }
        }
        // The Z prints once per Z number, whoever asks again.
        let printing = await till.spoolReport(report, key: "kassa-z:\(report.zNumber ?? 0):close", settings: settings, device: device)
        await server.bus.publish("till.shift", TillFact(shift: report.session, state: "closed", z: report.zNumber))
        await server.bus.publish("till.z", TillFact(job: printing.job?.id, shift: report.session, z: report.zNumber))
        return try APIJSON.response(TillReportAnswer(report: report, print: printing.job, printError: printing.error), status: .created)
    }

    func xReport(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let device = try device(request)
        let (report, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.xReport(user: user), try? engine.settings()) }
        }
        let printing = await till.spoolReport(report, key: "kassa-x:\(id)", settings: settings, device: device)
        return try APIJSON.response(TillReportAnswer(report: report, print: printing.job, printError: printing.error), status: .created)
    }

    func zReport(_ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let number = try number(context)
        let report = try await till.run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.zReport(number: number, user: user) } }
        return try APIJSON.response(TillReportAnswer(report: report))
    }

    func zReprint(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let user = try user(context)
        let id = try commandID(request)
        let number = try number(context)
        let device = try device(request)
        let (report, settings) = try await till.run { engine throws(RuntimeError) in
            try session { () throws(SessionError) in (try engine.zReport(number: number, user: user), try? engine.settings()) }
        }
        let printing = await till.spoolReport(report, key: "kassa-z:\(number):\(id)", settings: settings, device: device)
        return try APIJSON.response(TillReportAnswer(report: report, print: printing.job, printError: printing.error), status: .created)
    }
}
