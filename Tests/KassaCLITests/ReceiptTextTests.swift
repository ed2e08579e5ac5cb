import ReceiptText
import Testing

@Suite("Receipt words: one table per language")
struct ReceiptTextTests {
    @Test("every language's table has every label, and no two labels of a table print the same word where it matters")
    func complete() throws {
        for locale in ReceiptText.locales {
            let text = try #require(ReceiptText(locale: locale))
            #expect(text.isComplete, "\(locale) lacks a label")
            #expect(Label.allCases.allSatisfy { !text[$0].isEmpty })
            // The markings and the receipt types must be told apart on paper.
            let distinct: [Label] = [.copyMarking, .trainingMarking, .notAReceiptMarking, .startReceipt, .nullReceipt, .stornoReceipt, .receipt]
            #expect(Set(distinct.map { text[$0] }).count == distinct.count, "\(locale)")
        }
        #expect(ReceiptText(locale: "fr") == nil)
        #expect(ReceiptText(locale: "de")?[.startReceipt] == "Startbeleg" && ReceiptText(locale: "sv")?[.copyMarking] == "KOPIA")
    }
}
