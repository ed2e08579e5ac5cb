import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An Epson ePOS-Print XML request (`POST /cgi-bin/epos/service.cgi`), parsed strictly: a SOAP envelope whose body
/// holds one `epos-print`, children in the epos-print namespace or in none (Odoo strips it), each element and
/// attribute known and in range, and no DTD (so no entity can expand or reach outside). Anything else is a
/// `SchemaError`, and nothing of the document is printed.
public struct EPOSRequest: Sendable, Equatable {
    /// `devid`, `timeout` (ms) and `printjobid` of the SOAP header's `parameter`, when given there.
    public var deviceID: String?
    public var timeoutMilliseconds: Int?
    public var printJobID: String?
    /// `force="true"` on `epos-print`: sent even to a printer that is not ready (recovery).
    public var force: Bool
    public var elements: [EPOSElement]

    /// An empty `<epos-print/>` asks for the status (or, with a `printjobid`, for that job's outcome).
    public var isStatusRequest: Bool { elements.isEmpty }

    public static let namespace = "http://www.epson-pos.com/schemas/2011/03/epos-print"
    static let soapNamespaces: Set<String> = ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"]
    /// More elements than any receipt needs: a document beyond it is refused before it is encoded.
    public static let maxElements = 20_000
}

/// What `text` sets (nil: unchanged) and prints.
public struct EPOSText: Sendable, Equatable {
    public enum Font: String, Sendable { case fontA = "font_a", fontB = "font_b", fontC = "font_c", fontD = "font_d", fontE = "font_e",
                                             specialA = "special_a", specialB = "special_b" }
    public var lang: String?
    public var align: String?
    public var rotate: Bool?
    public var lineSpacing: Int?
    public var font: Font?
    public var smooth: Bool?
    public var doubleWidth: Bool?
    public var doubleHeight: Bool?
    public var width: Int?
    public var height: Int?
    public var reverse: Bool?
    public var underline: Bool?
    public var emphasis: Bool?
    public var x: Int?
    public var content: String
}

public enum EPOSElement: Sendable, Equatable {
    case text(EPOSText)
    /// `line` lines, `unit` dots, `linespc` (sets the line spacing, then one line), or a `pos` of label paper.
    case feed(line: Int?, unit: Int?, lineSpacing: Int?, pos: String?)
    /// Raster data as sent (`mono`: 1 bit a pixel; `gray16`: 4), decoded from base64.
    case image(width: Int, height: Int, align: String?, gray16: Bool, data: [UInt8])
    case logo(key1: Int, key2: Int)
    case barcode(type: String, hri: String?, font: String?, width: Int?, height: Int?, align: String?, data: [UInt8])
    case symbol(type: String, level: String?, width: Int?, height: Int?, size: Int?, align: String?, data: [UInt8])
    case hline(x1: Int, x2: Int, style: String)
    case cut(type: String)
    case pulse(drawer: String, time: String)
    case sound(pattern: String, repeat: Int?, cycle: Int?)
    /// Paper layout of label and black-mark paper: checked, and meaningless on receipt rolls.
    case layout
    /// Raw ESC/POS, sent only where `[serve] epos-command` allows it.
    case command([UInt8])
    case recovery
    case reset
}

extension EPOSRequest {
    /// Parses `data` (the HTTP body). Throws `SchemaError` for anything but a well-formed, known document.
    public static func parse(_ data: [UInt8]) throws(CompatError) -> EPOSRequest {
        // A DTD is never part of an ePOS document; refusing it refuses every entity declaration (no expansion bombs,
        // no external entities) before libxml2 sees the text.
        if contains(data, Array("<!DOCTYPE".utf8)) || contains(data, Array("<!ENTITY".utf8)) {
            throw .schema("a DOCTYPE or ENTITY declaration is not allowed in an ePOS-Print document")
        }
        guard String(validating: data, as: UTF8.self) != nil else {
            throw .schema("the document is not valid UTF-8")
        }
        let reader = EPOSReader()
        let parser = XMLParser(data: Data(data))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        let parsed = parser.parse()
        if let failure = reader.failure { throw failure }
        guard parsed else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "unknown"
            throw .schema("the XML is not well-formed (line \(parser.lineNumber), column \(parser.columnNumber): \(reason))")
        }
        guard let request = reader.result else { throw .schema("the SOAP body holds no epos-print element") }
        return request
    }

    static func contains(_ data: [UInt8], _ needle: [UInt8]) -> Bool {
        guard data.count >= needle.count else { return false }
        return data.withUnsafeBufferPointer { buffer in
            var index = 0
            let last = buffer.count - needle.count
            while index <= last {
                if buffer[index] == needle[0] {
                    var match = true
                    for offset in 1..<needle.count where buffer[index + offset] != needle[offset] {
                        match = false
                        break
                    }
                    if match { return true }
                }
                index += 1
            }
            return false
        }
    }
}

/// The SAX side of the parser: tracks where it is (envelope, header, body, epos-print, a leaf element) and builds
/// the request; the first problem stops the parse.
final class EPOSReader: NSObject, XMLParserDelegate {
    enum Place { case start, envelope, header, parameter, parameterField(String), body, eposPrint, leaf(String, [String: String]), done }
    var stack: [Place] = [.start]
    var failure: CompatError?
    var result: EPOSRequest?
    var request = EPOSRequest(deviceID: nil, timeoutMilliseconds: nil, printJobID: nil, force: false, elements: [])
    var characters = ""
    var sawBody = false

    func fail(_ parser: XMLParser, _ message: String) {
        if failure == nil { failure = .schema(message) }
        parser.abortParsing()
    }

    static func isEPOS(_ namespace: String?) -> Bool { namespace == nil || namespace == "" || namespace == EPOSRequest.namespace }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        guard failure == nil else { return }
        let place = stack.last ?? .done
        let soap = namespaceURI.map { EPOSRequest.soapNamespaces.contains($0) } ?? false
        switch place {
        case .start:
            guard name == "Envelope", soap else { return fail(parser, "the document is not a SOAP envelope (found <\(name)>)") }
            stack.append(.envelope)
        case .envelope:
            if name == "Header", soap, !sawBody {
                stack.append(.header)
            } else if name == "Body", soap, !sawBody {
                sawBody = true
                stack.append(.body)
            } else {
                fail(parser, "a SOAP envelope holds an optional Header and one Body, not <\(name)>")
            }
        case .header:
            guard name == "parameter", Self.isEPOS(namespaceURI) else { return fail(parser, "the SOAP header holds only <parameter>, not <\(name)>") }
            stack.append(.parameter)
        case .parameter:
            guard ["devid", "timeout", "printjobid"].contains(name), Self.isEPOS(namespaceURI) else {
                return fail(parser, "<parameter> holds devid, timeout and printjobid, not <\(name)>")
            }
            characters = ""
            stack.append(.parameterField(name))
        case .body:
            guard name == "epos-print", Self.isEPOS(namespaceURI), result == nil else {
                return fail(parser, "the SOAP body holds one <epos-print>, not <\(name)>")
            }
            for (key, value) in attributes {
                guard key == "force" || key.hasPrefix("xmlns") else { return fail(parser, "<epos-print> has no attribute \(key)") }
                if key == "force" {
                    guard let flag = Self.boolean(value) else { return fail(parser, "force is true or false, not \(value)") }
                    request.force = flag
                }
            }
            stack.append(.eposPrint)
        case .eposPrint:
            guard Self.isEPOS(namespaceURI) else { return fail(parser, "<\(name)> is not in the epos-print namespace") }
            guard request.elements.count < EPOSRequest.maxElements else {
                return fail(parser, "the document has more than \(EPOSRequest.maxElements) elements")
            }
            characters = ""
            stack.append(.leaf(name, attributes))
        case .leaf(let parent, _):
            fail(parser, "<\(parent)> holds text only, not <\(name)>")
        case .parameterField(let field):
            fail(parser, "<\(field)> holds text only, not <\(name)>")
        case .done:
            fail(parser, "nothing may follow the SOAP envelope")
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard failure == nil else { return }
        switch stack.last {
        case .leaf, .parameterField: characters += string
        default:
            if string.contains(where: { !$0.isWhitespace }) { fail(parser, "text is only allowed inside an element such as <text>") }
        }
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        guard failure == nil else { return }
        guard case .leaf = stack.last, let text = String(data: block, encoding: .utf8) else {
            return fail(parser, "CDATA is only allowed inside an element such as <text>")
        }
        characters += text
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard failure == nil, let place = stack.popLast() else { return }
        switch place {
        case .parameterField(let field):
            let value = characters.trimmingCharacters(in: .whitespacesAndNewlines)
            switch field {
            case "devid":
                request.deviceID = value
            case "timeout":
                guard let number = EPOSAttributes.integer(value, 0...300_000) else { return fail(parser, "timeout is 0 to 300000 milliseconds, not \(value)") }
                request.timeoutMilliseconds = number
            default:
                guard EPOSAttributes.isPrintJobID(value) else {
                    return fail(parser, "printjobid is 1 to 30 letters, digits, _ - or ., not \(value)")
                }
                request.printJobID = value
            }
        case .leaf(let element, let attributes):
            do throws(CompatError) {
                request.elements.append(try EPOSAttributes.element(element, attributes, characters))
            } catch {
                failure = error
                parser.abortParsing()
            }
        case .eposPrint:
            result = request
        case .envelope:
            stack.append(.done)
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if failure == nil { failure = .schema("the XML is not well-formed (line \(parser.lineNumber), column \(parser.columnNumber))") }
    }

    static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }
}
