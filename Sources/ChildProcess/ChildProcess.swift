internal import CPosixShims

#if canImport(Glibc)
import Glibc
#endif

/// Why a child process could not be started, fed or read. `errno` is the system's code, kept as a value.
public enum ChildProcessError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotStart(program: String, errno: Int32)
    case io(program: String, operation: String, errno: Int32)
    case timedOut(program: String, seconds: Int64)

    public var description: String {
        switch self {
        case .cannotStart(let program, let code):
            return "Cannot start \(program): \(String(cString: strerror(code))). Check that it is installed and executable."
        case .io(let program, let operation, let code):
            return "\(operation) \(program) failed: \(String(cString: strerror(code)))."
        case .timedOut(let program, let seconds):
            return "\(program) did not finish within \(seconds) s and was killed."
        }
    }
}

/// A child process started with `posix_spawn`, its standard streams on pipes that only this object holds.
///
/// Foundation's `Process` and `FileHandle.readDataToEndOfFile()` trap on a read error (a process-wide crash, seen in CI
/// under many concurrent children), read standard output to its end before standard error (a child that fills the
/// other pipe blocks forever), and leave their pipe ends inheritable by every other child started meanwhile (an EOF that
/// only comes when an unrelated child ends). Here the pipes are close-on-exec from birth, both outputs are drained
/// together with `poll`, `EINTR` is retried, every other error is thrown, and an optional deadline kills the child.
/// The child gets its three standard streams and no other descriptor of this process.
///
/// One owner: the methods are not meant to be called from two threads at once.
public final class ChildProcess: @unchecked Sendable {
    public enum Input: Sendable { case null, pipe, inherit }
    public enum Output: Sendable {
        case capture, discard, inherit
        /// Standard error only: into the same pipe as standard output (in the order written).
        case standardOutput
        /// Appended to this file (created 0600 if missing): a long-running child's log, which nobody needs to drain.
        case file(String)
    }

    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// The shell's number for it: the exit status, or 128 + the signal.
        public var status: Int32 {
            switch self {
            case .exited(let code): return code
            case .signalled(let signal): return 128 + signal
            }
        }
    }

    public struct Outcome: Sendable {
        public var termination: Termination
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    public private(set) var pid: Glibc.pid_t = 0
    public let program: String
    private var input: Int32 = -1
    private var output: Int32 = -1
    private var errors: Int32 = -1
    private var pendingOutput: [UInt8] = []
    private var finished: Termination?

    /// Starts `path` (absolute; no PATH search) with `arguments`. `environment` nil inherits this process's.
    /// The child starts with the default disposition of the usual termination signals and an empty signal mask,
    /// whatever this process ignores or blocks.
    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                stdin: Input = .null, stdout: Output = .capture, stderr: Output = .capture) throws(ChildProcessError) {
        program = path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = Glibc.close($0) } }
        func makePipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
            var ends: [Int32] = [-1, -1]
            guard kassa_pipe_cloexec(&ends) == 0 else { throw .cannotStart(program: path, errno: errno) }
            return (ends[0], ends[1])
        }
        /// Where the child's fd 1 or 2 goes; this side's read end when it is captured, else -1.
        func route(_ destination: Output, to fd: Int32) throws(ChildProcessError) -> Int32 {
            switch destination {
            case .inherit: break
            case .discard: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .standardOutput:
                // Standard error joins standard output; for standard output itself it means nowhere.
                if fd == 2 { posix_spawn_file_actions_adddup2(&actions, 1, 2) } else {
                    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
                }
            case .file(let file): posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            case .capture:
                let ends = try makePipe()
                childEnds.append(ends.write)
                posix_spawn_file_actions_adddup2(&actions, ends.write, fd)
                return ends.read
            }
            return -1
        }
        do {
            switch stdin {
            case .null: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            case .inherit: break
            case .pipe:
                let ends = try makePipe()
                input = ends.write
                childEnds.append(ends.read)
                posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
            }
            output = try route(stdout, to: 1)
            errors = try route(stderr, to: 2)
        } catch {
            closeParentEnds()
            throw error
        }

        // Only the three standard streams pass to the child: a listening socket, a lock or another child's pipe
        // opened elsewhere in this process without close-on-exec would otherwise live on in it.
        let closing = kassa_spawn_close_from(&actions, 3)
        guard closing == 0 else {
            closeParentEnds()
            throw .cannotStart(program: path, errno: closing)
        }

        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var child: Glibc.pid_t = 0
        let code = envp.map { envp in posix_spawn(&child, path, &actions, &attributes, argv, envp) }
            ?? posix_spawn(&child, path, &actions, &attributes, argv, environ)
        guard code == 0 else {
            closeParentEnds()
            throw .cannotStart(program: path, errno: code)
        }
        pid = child
        for fd in [input, output, errors] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        closeParentEnds()
        // Reap it if it has ended, so no zombie is left; a still-running child is the owner's to stop.
        if finished == nil, pid > 0 {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    private func closeParentEnds() {
        for fd in [input, output, errors] where fd >= 0 { _ = Glibc.close(fd) }
        input = -1
        output = -1
        errors = -1
    }

    /// Sends `signal` unless the child has already been reaped (its pid may belong to another process by then).
    public func signal(_ signal: Int32) {
        guard finished == nil, pid > 0 else { return }
        _ = kill(pid, signal)
    }

    /// One line of standard output without its newline, waiting at most `timeout`; nil at end of output or timeout.
    /// What follows the line stays for `communicate`.
    public func readLine(timeout: Duration) throws(ChildProcessError) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = pendingOutput.firstIndex(of: 0x0A) {
                let line = String(decoding: pendingOutput[..<newline], as: UTF8.self)
                pendingOutput.removeSubrange(...newline)
                return line
            }
            guard output >= 0 else { return nil }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Self.milliseconds(left))
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io(program: program, operation: "Waiting for the output of", errno: errno)
            }
            if ready == 0 { return nil }
            if try drain(&output, into: &pendingOutput) == false { continue }
        }
    }

    /// Writes `input` to standard input (when it is a pipe) and closes it, reads standard output and error to their
    /// ends, and waits for the child. With a `timeout`, a child still running then is killed and `.timedOut` thrown.
    public func communicate(input bytes: [UInt8] = [], timeout: Duration? = nil) throws(ChildProcessError) -> Outcome {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var stdout = pendingOutput
        pendingOutput = []
        var stderr: [UInt8] = []
        var written = 0
        if input >= 0, bytes.isEmpty { closeInput() }
        while output >= 0 || errors >= 0 || input >= 0 {
            var descriptors: [pollfd] = []
            if input >= 0 { descriptors.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            if output >= 0 { descriptors.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            if errors >= 0 { descriptors.append(pollfd(fd: errors, events: Int16(POLLIN), revents: 0)) }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { throw killForTimeout(timeout!) }
                wait = Self.milliseconds(left)
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io(program: program, operation: "Waiting for", errno: errno)
            }
            for descriptor in descriptors where descriptor.revents != 0 {
                if descriptor.fd == input {
                    written += try feed(bytes, from: written)
                    if written == bytes.count { closeInput() }
                } else if descriptor.fd == output {
                    _ = try drain(&output, into: &stdout)
                } else if descriptor.fd == errors {
                    _ = try drain(&errors, into: &stderr)
                }
            }
        }
        return Outcome(termination: try wait(until: deadline, timeout: timeout), stdout: stdout, stderr: stderr)
    }

    /// Waits for the child to end, reading and dropping what it still writes (so it never blocks on a full pipe, nor
    /// dies of SIGPIPE while shutting down).
    @discardableResult
    public func wait() -> Termination {
        closeInput()
        if let outcome = try? communicate() { return outcome.termination }
        closeParentEnds()
        return (try? wait(until: nil, timeout: nil)) ?? .exited(-1)
    }

    /// Starts a program and returns everything it wrote once it has ended.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil, input: [UInt8]? = nil,
                           stderr: Output = .capture, timeout: Duration? = nil) throws(ChildProcessError) -> Outcome {
        let child = try ChildProcess(path, arguments, environment: environment, stdin: input == nil ? .null : .pipe,
                                     stdout: .capture, stderr: stderr)
        return try child.communicate(input: input ?? [], timeout: timeout)
    }

    // MARK: - Internals

    private func wait(until deadline: ContinuousClock.Instant?, timeout: Duration?) throws(ChildProcessError) -> Termination {
        if let finished { return finished }
        var status: Int32 = 0
        while true {
            let flags = deadline == nil ? 0 : WNOHANG
            let result = waitpid(pid, &status, flags)
            if result == pid { break }
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(program: program, operation: "Waiting for", errno: errno)
            }
            // Still running with a deadline: poll it every 10 ms.
            if let deadline, let timeout, ContinuousClock.now >= deadline { throw killForTimeout(timeout) }
            usleep(10_000)
        }
        let termination: Termination = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
        finished = termination
        return termination
    }

    private func killForTimeout(_ timeout: Duration) -> ChildProcessError {
        _ = kill(pid, SIGKILL)
        closeParentEnds()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        finished = .signalled(SIGKILL)
        return .timedOut(program: program, seconds: timeout.components.seconds)
    }

    private func closeInput() {
        if input >= 0 { _ = Glibc.close(input) }
        input = -1
    }

    /// Reads what is there; false when nothing was read yet (would block). Closes the descriptor at end of file.
    private func drain(_ fd: inout Int32, into buffer: inout [UInt8]) throws(ChildProcessError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[0..<count]
                return true
            }
            if count == 0 {
                _ = Glibc.close(fd)
                fd = -1
                return true
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: return false
            default:
                let code = errno
                _ = Glibc.close(fd)
                fd = -1
                throw .io(program: program, operation: "Reading the output of", errno: code)
            }
        }
    }

    /// Writes what the pipe takes now. A child that has closed its input (EPIPE) is not an error: the rest is dropped.
    /// SIGPIPE is blocked on this thread for the write and a pending one consumed, so no process-wide handler is needed.
    private func feed(_ bytes: [UInt8], from offset: Int) throws(ChildProcessError) -> Int {
        guard offset < bytes.count else { return 0 }
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &block, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        while true {
            let count = bytes.withUnsafeBytes { Glibc.write(input, $0.baseAddress! + offset, $0.count - offset) }
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            case EPIPE:
                var pending = sigset_t()
                sigpending(&pending)
                if sigismember(&pending, SIGPIPE) == 1 {
                    var zero = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&block, nil, &zero)
                }
                return bytes.count - offset
            default:
                throw .io(program: program, operation: "Writing to", errno: errno)
            }
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let value = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
        return Int32(clamping: max(0, value))
    }
}
