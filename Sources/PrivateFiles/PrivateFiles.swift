import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file or folder Kassa could not create, write or trust; `code` is the errno, or 0 for a mode that is too open.
public struct PrivateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var code: Int32
    public var message: String

    public var description: String { message }
}

/// Files that belong to the till's user alone: keys, the terminal's state, exports and previews. Each is created with
/// its final mode from the first byte (open(2) with the mode, then fchmod(2), which the umask does not touch), never
/// written first and chmod-ed afterwards; folders are created 0700.
public enum PrivateFiles {
    /// Creates `path` and any missing parents with `mode` (0700 by default). Existing folders are left as they are.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(PrivateFileError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw PrivateFileError(path: path, code: ENOTDIR, message: "\(path) exists but is not a folder.")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, parent != "/" { try makeDirectory(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            let code = errno
            throw PrivateFileError(path: path, code: code, message: "Cannot create the folder \(path): \(String(cString: strerror(code))).")
        }
        // mkdir's mode passes through the umask, which can only take bits away; set it exactly.
        _ = chmod(path, mode)
    }

    /// Writes `bytes` to `path` with `mode` (0600 by default). With `durable`, the bytes go to `path.new`, are fsynced
    /// and renamed over `path`, and the folder is fsynced: a power cut leaves the old file or the new one, never half.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, durable: Bool = false) throws(PrivateFileError) {
        let target = durable ? path + ".new" : path
        let descriptor = try create(target, mode: mode)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(descriptor)
                if durable { unlink(target) }
                throw PrivateFileError(path: path, code: code, message: "Cannot write \(path): \(String(cString: strerror(code))).")
            }
            offset += written
        }
        if durable, fsync(descriptor) != 0 {
            let code = errno
            close(descriptor)
            unlink(target)
            throw PrivateFileError(path: path, code: code, message: "Cannot write \(path) to the disk: \(String(cString: strerror(code))).")
        }
        close(descriptor)
        guard durable else { return }
        guard rename(target, path) == 0 else {
            let code = errno
            unlink(target)
            throw PrivateFileError(path: path, code: code, message: "Cannot replace \(path): \(String(cString: strerror(code))).")
        }
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }

    /// Opens `path` for writing (created or truncated) with exactly `mode`; the caller closes the descriptor.
    public static func create(_ path: String, mode: mode_t = 0o600) throws(PrivateFileError) -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else {
            let code = errno
            throw PrivateFileError(path: path, code: code, message: "Cannot create \(path): \(String(cString: strerror(code))).")
        }
        guard fchmod(descriptor, mode) == 0 else {
            let code = errno
            close(descriptor)
            throw PrivateFileError(path: path, code: code, message: "Cannot set the mode of \(path): \(String(cString: strerror(code))).")
        }
        return descriptor
    }

    /// Refuses a secret that group or others may read or write (`chmod 600` fixes it). A missing file passes (nil).
    @discardableResult
    public static func checkSecret(_ path: String, what: String) throws(PrivateFileError) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        guard status.st_mode & 0o077 == 0 else {
            throw PrivateFileError(path: path, code: 0, message: "\(what) \(path) may be read by other users (mode "
                + String(status.st_mode & 0o777, radix: 8) + "); run `chmod 600 \(path)`, and replace the secret if others could have copied it.")
        }
        return true
    }
}
