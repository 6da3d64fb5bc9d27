#!/usr/bin/env python3
"""Drive a program on a pseudo-terminal from a small script (standard library only).

    pty_drive.py [--log FILE] [--rows R --cols C] -- COMMAND [ARGS...] < SCRIPT

COMMAND runs as the session leader of a new pty (its stdin, stdout and stderr
are the pty slave, so it sees a real terminal). The driver reads SCRIPT from
its own stdin, one step per line, and prints one result line per step on
stdout, for the calling TAP test to check:

    expect LABEL SECONDS REGEX   wait until REGEX (Python re, DOTALL) matches
                                 the output after the previous match
                                 -> "LABEL ok <seconds>" | "LABEL timeout" |
                                    "LABEL eof" (child gone before a match)
    send TEXT                    write TEXT to the pty master; TEXT takes
                                 Python escapes (\\r, \\x03, \\x01); nothing printed
    sleep SECONDS                keep reading output for SECONDS; nothing printed
    alive LABEL                  -> "LABEL yes" | "LABEL no" (child still running)
    wait LABEL SECONDS           wait for the child to exit
                                 -> "LABEL exit <status>" | "LABEL signal <n>" |
                                    "LABEL timeout"
    cpu LABEL SECONDS            CPU time (utime+stime from /proc/PID/stat) the
                                 child used over SECONDS of wall time
                                 -> "LABEL <percent of one CPU>"
    since LABEL REGEX            -> "LABEL <count>": how many times REGEX occurs
                                 in the output between the last two matches
                                 of expect (the previous and the latest)
    tty LABEL                    the pty's terminal modes right now (read on the
                                 master, which Linux answers for the slave)
                                 -> "LABEL echo=0|1 icanon=0|1 isig=0|1 icrnl=0|1"
    kill                         SIGKILL the child (also done at the end)

Every byte the child writes goes to --log (the transcript). Lines starting
with '#' and blank lines in SCRIPT are ignored.
"""
import argparse
import ast
import os
import pty
import re
import select
import signal
import sys
import termios
import time


class Child:
    def __init__(self, argv, log):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.out = b""
        self.pos = 0          # output consumed by the previous expect
        self.prev = 0         # start of the region searched by the latest expect
        self.status = None
        self.log = log

    def pump(self, timeout):
        """Read what the child writes within @timeout seconds; return the byte count."""
        if self.fd is None:
            time.sleep(max(timeout, 0))
            return 0
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError:      # EIO: every slave fd closed
            data = b""
        if not data:
            os.close(self.fd)
            self.fd = None
            return 0
        self.out += data
        if self.log:
            self.log.write(data)
            self.log.flush()
        return len(data)

    def reap(self, block=False):
        if self.status is None:
            pid, st = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if pid:
                self.status = st
        return self.status

    def expect(self, regex, seconds):
        rx = re.compile(regex.encode(), re.S)
        t0 = time.monotonic()
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.prev, self.pos = self.pos, m.end()
                return "ok %.1f" % (time.monotonic() - t0)
            left = seconds - (time.monotonic() - t0)
            if left <= 0:
                return "timeout"
            if self.fd is None and self.reap() is not None:
                return "eof"
            self.pump(min(left, 0.2))

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(min(end - time.monotonic(), 0.2))

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])    # utime, stime (fields 14, 15)

    def kill(self):
        if self.reap() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap(block=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not argv:
        ap.error("no command")
    script = sys.stdin.read().splitlines()
    log = open(a.log, "ab") if a.log else None
    c = Child(argv, log)

    def say(line):
        print(line, flush=True)

    try:
        for line in script:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            op, _, rest = line.partition(" ")
            if op == "expect":
                label, secs, regex = rest.split(" ", 2)
                say("%s %s" % (label, c.expect(regex, float(secs))))
            elif op == "send":
                text = ast.literal_eval('"' + rest.replace('"', '\\"') + '"')
                if c.fd is not None:
                    try:
                        os.write(c.fd, text.encode("latin-1"))
                    except OSError:
                        pass
            elif op == "sleep":
                c.sleep(float(rest))
            elif op == "alive":
                c.pump(0)
                say("%s %s" % (rest, "yes" if c.reap() is None else "no"))
            elif op == "wait":
                label, secs = rest.split()
                end = time.monotonic() + float(secs)
                while c.reap() is None and time.monotonic() < end:
                    c.pump(0.1)
                if c.status is not None:
                    while c.pump(0.2):    # drain what the child wrote before exiting
                        pass
                st = c.status
                if st is None:
                    say("%s timeout" % label)
                elif os.WIFEXITED(st):
                    say("%s exit %d" % (label, os.WEXITSTATUS(st)))
                else:
                    say("%s signal %d" % (label, os.WTERMSIG(st)))
            elif op == "cpu":
                label, secs = rest.split()
                try:
                    t0, w0 = c.cpu_ticks(), time.monotonic()
                    c.sleep(float(secs))
                    t1, w1 = c.cpu_ticks(), time.monotonic()
                    hz = os.sysconf("SC_CLK_TCK")
                    say("%s %.1f" % (label, 100.0 * (t1 - t0) / hz / (w1 - w0)))
                except (OSError, IndexError, ValueError):
                    say("%s gone" % label)
            elif op == "since":
                label, regex = rest.split(" ", 1)
                n = len(re.findall(regex.encode(), c.out[c.prev:c.pos], re.S))
                say("%s %d" % (label, n))
            elif op == "tty":
                try:
                    iflag, _, _, lflag = termios.tcgetattr(c.fd)[:4]
                    say("%s echo=%d icanon=%d isig=%d icrnl=%d" % (
                        rest, bool(lflag & termios.ECHO), bool(lflag & termios.ICANON),
                        bool(lflag & termios.ISIG), bool(iflag & termios.ICRNL)))
                except (termios.error, TypeError):
                    say("%s gone" % rest)
            elif op == "kill":
                c.kill()
            else:
                say("error unknown step %r" % line)
    finally:
        c.kill()
        if log:
            log.close()


if __name__ == "__main__":
    main()
