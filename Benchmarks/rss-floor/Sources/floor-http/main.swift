import Hummingbird

// A Hummingbird 2 service with one route and nothing else.
let router = Router()
router.get("/health") { _, _ in "ok" }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
try await app.runService()
