import Foundation
import ReceiptLayout
import StrictDecoding
import Testing
import TestSupport

/// Docs/document.schema.json must accept every documented example, and the decoder must read them too,
/// so the schema, the docs and the code cannot drift apart.
@Suite("Document schema")
struct SchemaTests {
    static let exampleFiles = ["receipt.json", "report.json", "cafe.json"]

    func validate(_ json: String) throws -> (status: Int32, output: String) {
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(sys.stdin.read())))
            print("\\n".join(e.message for e in errors))
            sys.exit(1 if errors else 0)
            """
        let schema = TestSupport.repositoryRoot.appendingPathComponent("Docs/document.schema.json").path
        let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, schema],
                                         stdin: Array(json.utf8))
        return (result.status, result.stdout + result.stderr)
    }

    @Test("the examples are valid against the schema and decode", arguments: exampleFiles)
    func examples(file: String) throws {
        let json = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Docs/examples/\(file)"), encoding: .utf8)
        let result = try validate(json)
        #expect(result.status == 0, "\(result.output)")
        _ = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
    }

    @Test("the schema rejects what the decoder rejects", arguments: [
        #"{"currency":"EUR","items":[{"name":"x","quantity":0.5,"unitPrice":100}]}"#,
        #"{"currency":"EUR","items":[{"name":"x","unitPrice":1.5}]}"#,
        #"{"items":[]}"#,
        #"{"currency":"EUR","blocks":[{"type":"hologram"}]}"#,
    ])
    func rejects(json: String) throws {
        #expect(try validate(json).status == 1)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Document.self, from: Data(json.utf8)) }
    }

    @Test("the schema and the strict decoder both refuse an unknown field", arguments: [
        #"{"currency":"EUR","colour":"red"}"#,
        #"{"currency":"EUR","blocks":[{"type":"text","text":"x","undeline":1}]}"#,
        #"{"currency":"EUR","blocks":[{"type":"cut","kind":"full","force":true}]}"#,
        #"{"currency":"EUR","items":[{"name":"x","unitPrice":100,"vatt":"A"}]}"#,
        #"{"currency":"EUR","payments":[{"method":"cash","amount":1,"change":0}]}"#,
    ])
    func unknownFields(json: String) throws {
        #expect(try validate(json).status == 1)
        #expect(throws: StrictDecodingError.self) { try StrictJSONDecoder().decode(Document.self, from: Data(json.utf8)) }
    }
}
