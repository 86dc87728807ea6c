/// What a file given as a key holds instead, said in the operator's terms: the usual mistakes are
/// the other half of the pair, another algorithm's key, or a file that is no key at all.
enum PEMText {
    static func contents(of text: String, wanted: String) -> String {
        guard let begin = text.range(of: "-----BEGIN "), let end = text[begin.upperBound...].range(of: "-----") else {
            return "it holds no PEM block"
        }
        let label = String(text[begin.upperBound..<end.lowerBound])
        guard label == wanted else { return "it holds a \(label.prefix(40))" }
        return "its \(label) is another algorithm's, or damaged"
    }
}
