import Foundation

/// What the journal needs from the terminal's fiscal module: a serial, a public key, and a signature per entry.
///
/// Hardware modules (a signature card, a TSE-like device) implement this next; `SoftwareFiscalModule` is the default.
/// The engine calls `sign` inside the transaction that records the fact, so a module that fails leaves nothing half
/// written: the fact is refused, and the failure itself is journaled unsigned (`fiscal_module_failure`).
public protocol FiscalModule: Sendable {
    /// The module's serial number, printed in exports and stored with every entry it signs.
    var serial: String { get }
    /// The signature algorithm; `ES256` (ECDSA P-256 with SHA-256, raw r‖s) is the only one the verifiers accept.
    var algorithm: String { get }
    /// The public key as X9.63 (uncompressed point, 65 bytes for P-256).
    var publicKey: [UInt8] { get }
    /// Counts a signature and signs `message ‖ "\n" ‖ counter` (the counter in decimal) with ES256, as a signature card
    /// or TSE puts its own counter into what it signs. Returns the raw r‖s signature (64 bytes) and that counter.
    func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64)
    /// Signs `data` as it is (ES256, raw r‖s) for a regime's own format, such as an RKSV receipt's JWS signing input.
    /// Counts as a signature.
    func signRaw(_ data: [UInt8]) throws(FiscalModuleError) -> [UInt8]
    /// Signatures made so far (the module's own counter).
    func signatureCount() -> Int64
    /// Called before each journal signature, under the write lock, with the last counter the journal recorded for this
    /// module, so a module that keeps no counter of its own (the software module, possibly in two processes) continues
    /// the series. A module with its own counter ignores it.
    func resume(afterCounter counter: Int64)
    /// Called after a transaction that journaled entries signed by this module has committed, with the highest signature
    /// counter the journal now holds for it. A module that keeps an anchor outside the database (the software module's
    /// `fiscal-module.counter`) moves it forward; it may lag the journal after a power cut, never lead it.
    func committed(counter: Int64)
}

extension FiscalModule {
    public func committed(counter: Int64) {}
}

/// A fiscal module that could not sign, with the code it gave.
public struct FiscalModuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "fiscal module error \(code): \(message)" }
}

/// A fiscal regime's per-receipt code (Austria's RKSV signature, Sweden's control code), made inside the transaction that
/// finalizes the receipt. The engine chains it to the previous code of the same profile and stores it with the receipt;
/// a profile that throws refuses the receipt (nothing is recorded).
public protocol FiscalProfile: Sendable {
    /// The value of the `fiscal-profile` setting that selects it (`at`, `se`).
    var name: String { get }
    func code(for receipt: ProfileReceipt, previous: FiscalCode?, module: (any FiscalModule)?, settings: Settings) throws(SessionError) -> FiscalCode
    /// Whether a copy is registered too (Sweden: `RECEIPT_COPY` in the control unit); it then gets a code of its own.
    var registersCopies: Bool { get }
    /// Whether a pro-forma bill is registered (Sweden: `RECEIPT_PRO_FORMA`); its `ProfileReceipt.kind` is `proforma`.
    var registersProForma: Bool { get }
    /// A profile whose code comes from a device outside the process returns the registration to make (built without
    /// talking to the device); nil: `code(for:)` gives the code inside the transaction.
    func registration(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ExternalRegistration?
    /// Sends a registration to the device and returns the code it gave. The same registration sent again gets the same
    /// answer (the device ignores a repeat). Called outside any transaction.
    func send(_ registration: ExternalRegistration) throws(SessionError) -> FiscalCode
    /// Checks the profile's device before a shift opens (Sweden: the control unit answers, is operational and is the
    /// unit this terminal is bound to). Returns facts to keep as read-only regime settings (the binding, the first
    /// time). Called outside any transaction; throws when no shift may open.
    func checkDevice(settings: Settings) throws(SessionError) -> [String: String]
}

extension FiscalProfile {
    public var registersCopies: Bool { false }
    public var registersProForma: Bool { false }
    public func registration(for receipt: ProfileReceipt, settings: Settings) throws(SessionError) -> ExternalRegistration? { nil }
    public func send(_ registration: ExternalRegistration) throws(SessionError) -> FiscalCode {
        throw .invalid("The fiscal profile \(name) registers nothing outside the process.")
    }
    public func checkDevice(settings: Settings) throws(SessionError) -> [String: String] { [:] }
}

/// A registration that a device outside the process must hold before the receipt is recorded (Sweden's control unit).
/// The engine commits it as *pending* before it is sent, re-sends exactly the same request after a failure or a crash (a
/// unit ignores a repeat), and never sends another request under the same key (decision 0018).
public struct ExternalRegistration: Sendable, Equatable, Codable {
    public var profile: String
    /// Unique per registration in the device: the receipt kind and receipt id (`RECEIPT_NORMAL:12`).
    public var key: String
    /// The request exactly as sent (canonical JSON): a re-send is byte for byte the same.
    public var payload: String
    /// The serial the engine gave it when it was first committed as pending (1, 2, … per profile, never given twice);
    /// nil until then. A re-send carries the same serial.
    public var serial: Int64?

    public init(profile: String, key: String, payload: String, serial: Int64? = nil) {
        self.profile = profile
        self.key = key
        self.payload = payload
        self.serial = serial
    }
}

/// What a profile sees of a receipt.
public struct ProfileReceipt: Sendable, Equatable {
    public var id: String
    /// `sale`, `refund`, `training`, or `proforma` (a pro-forma bill: its number is the pro-forma series').
    public var kind: String
    /// `start`, `null`, `storno` or nil (a regime's special receipt types).
    public var fiscalType: String?
    public var number: Int64
    public var terminal: String
    public var cashier: String
    /// Local date and time in the terminal's time zone, `yyyy-MM-ddTHH:mm:ss`.
    public var localTime: String
    /// Gross per VAT rate (basis points), in minor units.
    public var grossByRate: [Int64: Int64]
    public var vatByRate: [Int64: Int64]
    public var total: Int64
    /// The sum of the negative lines, as a positive amount.
    public var negativeTotal: Int64
    /// The terminal's grand total net after this receipt (unchanged by training receipts).
    public var turnoverAfter: Int64
    public var isCopy: Bool
    /// The signing module's place among the fiscal modules this terminal registered, from 1 (RKSV's key id `K<n>`).
    public var moduleNumber: Int = 1
}

/// A receipt's code under a fiscal profile, as stored and printed.
public struct FiscalCode: Sendable, Equatable, Codable {
    public var profile: String
    /// The machine-readable code (RKSV: the JWS; SE: the control code).
    public var code: String
    /// Printed as a QR code when not empty (RKSV: the QR representation).
    public var qr: String
    /// Printed lines (SE: control unit and control code).
    public var lines: [String]
    /// The signature device failed: the code carries the regime's failure marker.
    public var signatureFailed: Bool
    /// The regime's receipt type when it is a special one (`start`, `null`, `storno`), for the receipt's headline.
    public var fiscalType: String?
    /// Facts the profile asks the engine to keep as read-only regime settings with the receipt (Austria: the AES key's
    /// fingerprint, `at-aes-key-sha256`, with the first receipt). Not stored with the code.
    public var keep: [String: String]?

    enum CodingKeys: String, CodingKey { case profile, code, qr, lines, signatureFailed, fiscalType }

    public init(profile: String, code: String, qr: String = "", lines: [String] = [], signatureFailed: Bool = false,
                fiscalType: String? = nil, keep: [String: String]? = nil) {
        self.fiscalType = fiscalType
        self.keep = keep
        self.profile = profile
        self.code = code
        self.qr = qr
        self.lines = lines
        self.signatureFailed = signatureFailed
    }
}
