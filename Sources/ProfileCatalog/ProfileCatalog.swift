import ESCPOS
import Foundation

/// Errors loading printer profiles and the USB map.
public enum ProfileCatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    case directoryMissing(String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownProfile(String, available: [String])

    public var description: String {
        switch self {
        case .directoryMissing(let path):
            return "No printer profiles found at \(path). Set KASSA_HARDWARE to the folder that holds profiles/ "
                + "(the Hardware folder of the Kassa checkout or installation)."
        case .unreadable(let path, let reason): return "Cannot read \(path): \(reason)."
        case .malformed(let path, let reason):
            return "The profile file \(path) is not valid: \(reason). Compare it with Docs/profile-format.md."
        case .unknownProfile(let name, let available):
            let near = available.filter { $0.lowercased().contains(name.lowercased().prefix(4)) }.prefix(5)
            return "There is no printer profile named '\(name)'. "
                + (near.isEmpty ? "Run `kassa profiles` to list them." : "Did you mean \(near.joined(separator: ", "))?")
        }
    }
}

/// One entry of `Hardware/usb-ids.json`.
public struct USBPrinterID: Sendable, Codable, Equatable {
    public var vendor: String
    public var product: String
    public var profile: String
    public var description: String
    public var confidence: String?
}

/// All known printer profiles: the shipped ones plus the user's own (which win on equal ids).
public struct ProfileCatalog: Sendable {
    public struct Entry: Sendable {
        public var profile: PrinterProfile
        /// Where it came from: `builtin` or the user's file path.
        public var origin: String
    }

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var usbIDs: [USBPrinterID] = []
    /// Files that could not be loaded; they are reported, never silently ignored.
    public private(set) var problems: [ProfileCatalogError] = []

    public init() {}

    /// Loads `hardwareDirectory/profiles/*.json` and `usb-ids.json`, then every `*.json` in `userDirectory`.
    public static func load(hardwareDirectory: URL, userDirectory: URL?) throws(ProfileCatalogError) -> ProfileCatalog {
        var catalog = ProfileCatalog()
        let builtin = hardwareDirectory.appendingPathComponent("profiles")
        guard FileManager.default.fileExists(atPath: builtin.path) else { throw .directoryMissing(builtin.path) }
        catalog.loadDirectory(builtin, origin: "builtin")
        if let userDirectory, FileManager.default.fileExists(atPath: userDirectory.path) {
            catalog.loadDirectory(userDirectory, origin: nil)
        }
        let usbFile = hardwareDirectory.appendingPathComponent("usb-ids.json")
        if let data = FileManager.default.contents(atPath: usbFile.path) {
            struct File: Decodable { var devices: [USBPrinterID] }
            do {
                catalog.usbIDs = try JSONDecoder().decode(File.self, from: data).devices
            } catch {
                catalog.problems.append(.malformed(path: usbFile.path, reason: "\(error)"))
            }
        }
        return catalog
    }

    mutating func loadDirectory(_ directory: URL, origin: String?) {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
        } catch {
            problems.append(.unreadable(path: directory.path, reason: error.localizedDescription))
            return
        }
        for file in files {
            do {
                let profile = try Self.decodeProfile(at: file)
                entries[profile.id] = Entry(profile: profile, origin: origin ?? file.path)
            } catch {
                problems.append(error)
            }
        }
    }

    /// Reads and checks one profile file.
    public static func decodeProfile(at file: URL) throws(ProfileCatalogError) -> PrinterProfile {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw .unreadable(path: file.path, reason: "no such file or permission denied")
        }
        return try decodeProfile(data, path: file.path)
    }

    public static func decodeProfile(_ data: Data, path: String) throws(ProfileCatalogError) -> PrinterProfile {
        guard String(data: data, encoding: .utf8) != nil else {
            throw .malformed(path: path, reason: "the file is not UTF-8 text")
        }
        let profile: PrinterProfile
        do {
            profile = try JSONDecoder().decode(PrinterProfile.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .malformed(path: path, reason: "the field '\(key.stringValue)' is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformed(path: path, reason: "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .malformed(path: path, reason: "it is not valid JSON (\(error.localizedDescription))")
        }
        guard !profile.id.isEmpty else { throw .malformed(path: path, reason: "'id' is empty") }
        guard (96...4096).contains(profile.paper.dots) else {
            throw .malformed(path: path, reason: "paper.dots must be between 96 and 4096, not \(profile.paper.dots)")
        }
        guard !profile.fonts.isEmpty, profile.fonts.allSatisfy({ $0.columns > 0 && $0.columns <= profile.paper.dots }) else {
            throw .malformed(path: path, reason: "fonts must list at least one font with a positive column count")
        }
        for (slot, name) in profile.codePages {
            guard let value = Int(slot), (0...255).contains(value) else {
                throw .malformed(path: path, reason: "code-page slot '\(slot)' is not a number from 0 to 255")
            }
            guard CodePage.named(name) != nil else {
                throw .malformed(path: path, reason: "code page '\(name)' in slot \(slot) is unknown; known: "
                    + CodePage.allNames.joined(separator: ", "))
            }
        }
        return profile
    }

    public var profiles: [PrinterProfile] { entries.values.map(\.profile).sorted { $0.id < $1.id } }

    public func profile(named name: String) throws(ProfileCatalogError) -> PrinterProfile {
        if let entry = entries[name] { return entry.profile }
        if let entry = entries.values.first(where: { $0.profile.id.lowercased() == name.lowercased() }) {
            return entry.profile
        }
        throw .unknownProfile(name, available: entries.keys.sorted())
    }

    /// The profile for a USB printer, if its vendor:product pair is known.
    public func profile(vendor: UInt16, product: UInt16) -> PrinterProfile? {
        let v = String(format: "%04x", vendor)
        let p = String(format: "%04x", product)
        guard let id = usbIDs.first(where: { $0.vendor.lowercased() == v && $0.product.lowercased() == p }) else { return nil }
        return entries[id.profile]?.profile
    }
}
