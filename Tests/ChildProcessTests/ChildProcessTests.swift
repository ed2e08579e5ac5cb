import ChildProcess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ChildProcess: programs on close-on-exec pipes, drained without trapping")
struct ChildProcessTests {
    @Test("a megabyte on each output, interleaved, is read in full (reading one to its end first would deadlock)")
    func bothOutputsDrained() throws {
        let script = "i=0; while [ $i -lt 16 ]; do head -c 65536 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done"
        let outcome = try ChildProcess.run("/bin/sh", ["-c", script], timeout: .seconds(60))
        #expect(outcome.termination == .exited(0))
        #expect(outcome.stdout.count == 1 << 20 && outcome.stdout.allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(outcome.stderr.count == 1 << 20 && outcome.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    @Test("input larger than a pipe is written while the output is read; stderr can join stdout")
    func inputFed() throws {
        let input = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let echoed = try ChildProcess.run("/bin/cat", [], input: input, timeout: .seconds(60))
        #expect(echoed.stdout == input)
        let merged = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2"], stderr: .standardOutput)
        #expect(String(decoding: merged.stdout, as: UTF8.self) == "out\nerr\n" && merged.stderr.isEmpty)
    }

    @Test("a child that exits without reading its input is no error and sends no SIGPIPE to this process")
    func inputRefused() throws {
        let outcome = try ChildProcess.run("/bin/true", [], input: [UInt8](repeating: 1, count: 4 << 20), timeout: .seconds(60))
        #expect(outcome.termination == .exited(0))
    }

    @Test("exit codes, signals, and the shell's number for each")
    func terminations() throws {
        let three = try ChildProcess.run("/bin/sh", ["-c", "exit 3"])
        #expect(three.termination == .exited(3) && three.termination.status == 3)
        let killed = try ChildProcess.run("/bin/sh", ["-c", "kill -KILL $$"])
        #expect(killed.termination == .signalled(SIGKILL) && killed.termination.status == 137)
        let child = try ChildProcess("/bin/sleep", ["30"])
        child.signal(SIGTERM)
        #expect(child.wait() == .signalled(SIGTERM))
    }

    @Test("a child past its deadline is killed and reaped, and the timeout is an error")
    func deadline() throws {
        let child = try ChildProcess("/bin/sleep", ["30"])
        #expect(throws: ChildProcessError.timedOut(program: "/bin/sleep", seconds: 0)) {
            _ = try child.communicate(timeout: .milliseconds(200))
        }
        // Reaped: the pid is gone (no zombie left behind).
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH)
    }

    @Test("a missing program is .cannotStart with ENOENT, not a crash")
    func missingProgram() {
        #expect(throws: ChildProcessError.cannotStart(program: "/nonexistent/kassa", errno: ENOENT)) {
            _ = try ChildProcess.run("/nonexistent/kassa", [])
        }
    }

    @Test("one line at a time, then the rest; a silent child gives nil after the timeout")
    func lines() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "echo first; echo second; echo third"])
        #expect(try child.readLine(timeout: .seconds(10)) == "first")
        let rest = try child.communicate(timeout: .seconds(10))
        #expect(String(decoding: rest.stdout, as: UTF8.self) == "second\nthird\n")
        let silent = try ChildProcess("/bin/sleep", ["30"])
        #expect(try silent.readLine(timeout: .milliseconds(100)) == nil)
        silent.signal(SIGKILL)
        #expect(silent.wait() == .signalled(SIGKILL))
    }

    @Test("the child starts with no signal blocked and the termination signals at their defaults")
    func signalDefaults() throws {
        let outcome = try ChildProcess.run("/bin/grep", ["^Sig\\(Blk\\|Ign\\)", "/proc/self/status"])
        let fields = Dictionary(uniqueKeysWithValues: String(decoding: outcome.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":")
            return parts.count == 2 ? (String(parts[0]), UInt64(String(parts[1].filter { !$0.isWhitespace }), radix: 16)) : nil
        })
        #expect(fields["SigBlk"] == 0, "\(fields)")
        let ignored = try #require(fields["SigIgn"] ?? nil, "\(fields)")
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { #expect(ignored & (1 << UInt64(signal - 1)) == 0, "signal \(signal)") }
    }

    @Test("a descriptor this process opened without close-on-exec does not pass to the child")
    func noInheritedDescriptors() throws {
        let fd = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        #expect(fd > 2)
        defer { close(fd) }
        let check = "[ -e /proc/self/fd/\(fd) ] && echo inherited || echo closed"
        let outcome = try ChildProcess.run("/bin/sh", ["-c", check])
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "closed\n")
        // The same check sees an inherited one: it can tell.
        let standard = try ChildProcess.run("/bin/sh", ["-c", "[ -e /proc/self/fd/2 ] && echo inherited || echo closed"])
        #expect(String(decoding: standard.stdout, as: UTF8.self) == "inherited\n")
    }
}
