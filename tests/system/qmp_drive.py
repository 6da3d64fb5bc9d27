#!/usr/bin/env python3
"""A small QMP client for the system tests (stdlib only: socket + json).

QMP(path) connects to a unix socket, reads the greeting; cmd() sends a
command and returns the reply, keeping the events that arrive meanwhile in
.events (in arrival order). Messages are split by bracket depth, the same
way a QMP server streams them (one JSON value per line in practice).
"""
import json
import socket
import time


class QMP:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.buf = b''
        self.events = []
        self.greeting = self.recv()

    def recv(self):
        """Next JSON message (blocking)."""
        while True:
            nl = self.buf.find(b'\n')
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                if line.strip():
                    return json.loads(line)
                continue
            d = self.sock.recv(65536)
            if not d:
                raise EOFError('QMP connection closed')
            self.buf += d

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """Next non-event message; events are queued in .events."""
        while True:
            m = self.recv()
            if 'event' in m:
                self.events.append(m)
            else:
                return m

    def cmd(self, name, args=None, id=None):
        msg = {'execute': name}
        if args is not None:
            msg['arguments'] = args
        if id is not None:
            msg['id'] = id
        self.send_raw(json.dumps(msg))
        return self.reply()

    def wait_event(self, name, timeout=60):
        """Wait for event @name (already queued or arriving); returns it."""
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] == name:
                    return self.events.pop(i)
            self.sock.settimeout(max(0.1, deadline - time.time()))
            if time.time() > deadline:
                raise TimeoutError(name)
            self.events.append(self.recv())
