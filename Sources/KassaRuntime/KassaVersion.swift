/// Kassa's version, as `kassa version` and `GET /v1/health` report it.
public enum KassaVersion {
    public static let string = "0.1.0"
}
