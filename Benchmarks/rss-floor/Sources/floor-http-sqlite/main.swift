import GRDB
import Hummingbird

// A Hummingbird 2 service with one route and a GRDB database open as kassa serve opens its spool (WAL, synchronous=FULL).
var configuration = Configuration()
configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
let pool = try DatabasePool(path: CommandLine.arguments[1], configuration: configuration)
try pool.write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS job (id INTEGER PRIMARY KEY, payload BLOB)") }
let router = Router()
router.get("/health") { _, _ in "ok" }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
try await app.runService()
