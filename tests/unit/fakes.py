"""Fakes the unit tests share (conftest.py turns them into fixtures).

SocketFob is the CLI's counterpart: the real firmware protocol and vault behind a TCP port
(socket://127.0.0.1:N), with a clock the test controls and a person who says yes to every
press prompt. Cli runs `otpfob` in-process against it.
"""

import json
import select
import socket
import threading
import time

from click.testing import CliRunner
from fob import protocol as protocol_mod
from fob import vault as vault_mod

from otpfob.cli import main


class FakeRtc:
    """The DS3231 driver's aging offset, as protocol and provision reach it."""

    def __init__(self, aging=0):
        self.calibration = aging


class WallClock:
    """Laptop time plus an offset, or not set."""

    def __init__(self, offset=0.0, valid=True, rtc=None):
        self.offset = offset
        self.is_set = valid
        self.sets = []
        if rtc is not None:
            self.rtc = rtc

    @property
    def reason(self):
        return "ok" if self.is_set else "power_lost"

    @property
    def valid(self):
        return self.is_set

    def now(self):
        return int(time.time() + self.offset) if self.is_set else None

    def set(self, epoch):
        self.sets.append((epoch, time.time()))
        self.offset = epoch - time.time()
        self.is_set = True


class CountingFS(vault_mod.OsFS):
    def __init__(self):
        self.writes = 0

    def open(self, path, mode):
        # Vault writes only: the password record also keeps the highest time seen.
        if "w" in mode and "vault" in path:
            self.writes += 1
        return vault_mod.OsFS.open(self, path, mode)


class Approver:
    """The person at the fob, saying yes to every prompt (kept in `prompts`)."""

    def __init__(self):
        self.prompts = []
        self.answer = None

    def ask(self, prompt):
        self.prompts.append(prompt)
        self.answer = True

    def cancel(self):
        self.answer = None

    def notify(self, text):
        pass


class _Port:
    """What Protocol reads from: bytes received so far on the socket."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    @property
    def in_waiting(self):
        return len(self.buf)

    def read(self, n):
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def write(self, data):
        self.conn.sendall(data)
        return len(data)


class SocketFob:
    def __init__(self, root, clock=None):
        self.fs = CountingFS()
        self.vault = vault_mod.Vault(str(root), fs=self.fs)
        self.vault.load()
        self.clock = clock or WallClock()
        self.requests = 0
        self.presence = Approver()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.url = "socket://127.0.0.1:%d" % self.srv.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            ready, _, _ = select.select([self.srv], [], [], 0.05)
            if not ready:
                continue
            conn, _ = self.srv.accept()
            port = _Port(conn)
            proto = protocol_mod.Protocol(port, self.vault, self.clock,
                                          {"serial": "fake0001", "board": "test"},
                                          presence=self.presence)
            with conn:
                while not self._stop:
                    ready, _, _ = select.select([conn], [], [], 0.002)
                    if ready:
                        try:
                            data = conn.recv(4096)
                        except OSError:
                            break
                        if not data:
                            break
                        port.buf += data
                    try:
                        proto.poll()
                    except OSError:
                        break
            self.requests += proto.requests

    def stop(self):
        self._stop = True
        self.thread.join(2)
        self.srv.close()


class Cli:
    """`otpfob --port URL ARGS...` in-process; `json()` adds --json and parses stdout."""

    def __init__(self, url):
        self.url = url

    def __call__(self, *args, input=None):
        return CliRunner().invoke(main, ["--port", self.url, *args], input=input)

    def json(self, *args, input=None):
        result = self("--json", *args, input=input)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)
