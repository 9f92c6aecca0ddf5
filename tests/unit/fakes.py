"""Fakes the unit tests share (conftest.py turns them into fixtures).

FakePort, FakeClock, MemFS, FakePresence and Fob run the firmware's protocol in-process:
bytes in, replies out, flash in memory. SocketFob is the CLI's counterpart: the real firmware protocol and vault behind a TCP port
(socket://127.0.0.1:N), with a clock the test controls and a person who says yes to every
press prompt. Cli runs `otpfob` in-process against it.
"""

import base64
import copy
import json
import select
import socket
import threading
import time

from click.testing import CliRunner

from fob import protocol as protocol_mod
from fob import settings as settings_mod
from fob import vault as vault_mod
from fob.protocol import Protocol
from fob.vault import Vault
from otpfob.cli import main

T0 = 1800000000
SECRET_B32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 20 bytes
SECRET = base64.b32decode(SECRET_B32)
# RFC 4226 appendix D: the secret "12345678901234567890" and its codes for counters 0-9.
RFC4226_KEY = b"12345678901234567890"
RFC4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]


class FakePort:
    def __init__(self):
        self.inbox = bytearray()
        self.out = bytearray()

    @property
    def in_waiting(self):
        return len(self.inbox)

    def read(self, n):
        data = bytes(self.inbox[:n])
        del self.inbox[:n]
        return data

    def write(self, data):
        self.out += data
        return len(data)

    def take(self):
        out = bytes(self.out)
        self.out.clear()
        return out


class AgingRegister:
    """What fob/clock.py's Clock gives of the DS3231's own registers: the aging offset in
    `rtc` (a FakeRtc; with none, reading it fails as a clock without the chip does)."""

    rtc = None

    def aging(self):
        if self.rtc is None:
            raise OSError(19, "no aging offset register")
        return self.rtc.aging

    def set_aging(self, n):
        if self.rtc is None or self.rtc.broken:
            raise OSError(5, "I2C")
        self.rtc.aging = n


class FakeClock(AgingRegister):
    """The fob's clock (fob/clock.py's Clock as the firmware reads it): UTC that moves only
    when a test moves `t` (whole seconds, or with a fraction). `reason` other than "ok"
    makes it not valid; `fail` makes a set raise as a bus error would; `sets` records the
    sets; `rtc` (a FakeRtc) holds the aging offset. The one clock fake of the unit tests."""

    def __init__(self, t=T0):
        self.t = t
        self.reason = "ok"
        self.fail = False
        self.sets = []

    @property
    def valid(self):
        return self.reason == "ok"

    def now(self):
        return int(self.t) if self.valid else None

    def fraction(self):
        return self.t - int(self.t)

    def chip_second(self):
        return int(self.t) % 60

    def set(self, t):
        if self.fail:
            raise OSError(5, "I2C")
        self.t = t
        self.sets.append(t)
        self.reason = "ok"


class MemFile:
    def __init__(self, fs, path, mode):
        if "r" in mode and path not in fs.files:
            raise OSError(2, "no such file")
        if "w" in mode:
            fs.files[path] = bytearray()
        self.buf = fs.files[path]
        self.pos = 0

    def read(self, n=-1):
        if n < 0:
            n = len(self.buf) - self.pos
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += len(data)
        return data

    def write(self, data):
        self.buf[self.pos : self.pos + len(data)] = data
        self.pos += len(data)
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass


class MemFS:
    def __init__(self):
        self.files = {}
        self.writes = 0
        self.broken = False

    def open(self, path, mode):
        if self.broken and ("w" in mode or "+" in mode):
            raise OSError(5, "flash failed")
        if "w" in mode:
            self.writes += 1
        return MemFile(self, path, mode)

    def size(self, path):
        f = self.files.get(path)
        return None if f is None else len(f)

    def sync(self):
        pass

    # Folders are only names here (the label strips' labels/).
    def mkdir(self, path):
        pass

    def remove(self, path):
        if self.broken:
            raise OSError(5, "flash failed")
        if self.files.pop(path, None) is None:
            raise OSError(2, "no such file")

    def listdir(self, path):
        prefix = path.rstrip("/") + "/"
        return [k[len(prefix) :] for k in self.files if k.startswith(prefix)]


class FakePresence:
    """The person at the fob: answers every prompt with `reply` (None: never answers)."""

    def __init__(self, reply=True):
        self.reply = reply
        self.prompts = []
        self.notices = []
        self.answer = None

    def ask(self, prompt):
        self.prompts.append(prompt)
        self.answer = self.reply

    def cancel(self):
        self.answer = None

    def notify(self, text):
        self.notices.append(text)


class FakeTime:
    """A `time` module for fob/wire.py (monkeypatch.setattr(wire, "time", ...)): every
    timeout on the fob reads monotonic() there. `clock` is a one-item list of seconds;
    `step` is added at each look, so timeouts pass within one reply when wanted."""

    def __init__(self, clock=None, step=0.0):
        self.clock = clock if clock is not None else [1000.0]
        self.step = step

    def monotonic(self):
        self.clock[0] += self.step
        return self.clock[0]

    time = monotonic


class PassTime:
    """A `time` module for fob/clockset.py (monkeypatch.setattr(clockset, "time", ...)):
    every look at monotonic_ns is a loop pass `pass_ms` later, and a sleep is recorded
    (`slept`) and moves it on, so a pressed set's wait for the next second takes passes,
    not real time."""

    def __init__(self, pass_ms=10):
        self.ns = 5 * 10**9
        self.pass_ns = pass_ms * 10**6
        self.slept = []

    def monotonic_ns(self):
        self.ns += self.pass_ns
        return self.ns

    def sleep(self, s):
        self.slept.append(s)
        self.ns += int(s * 1e9)


class HeldButtons:
    """fob/buttons.py's view of the buttons for the UI's questions: when each press began
    and whether a button is held, on a clock the test moves (`now()`)."""

    def __init__(self, now, names=("A", "B", "C")):
        self.now = now
        self.names = tuple(names)
        self._began = {n: -1.0 for n in self.names}
        self._down = set()

    def began(self, name):
        return self._began[name]

    def down(self, name):
        return name in self._down

    def press(self, name):
        self._began[name] = self.now()
        self._down.add(name)

    def release(self, name):
        self._down.discard(name)


class Settings(settings_mod.Settings):
    """The fob's preferences (fob/settings.py's, with its defaults), kept in memory: for
    tests that leave the settings file out of what they count."""

    def load(self):
        pass

    def save(self):
        self.saved = True
        return True


BOARD_INFO = {
    "serial": "e661abcd",
    "board": "Test board",
    "display": "128x64",
    "buttons": ["A", "B"],
}


class Fob:
    """The firmware's protocol in-process: a FakePort, the vault on flash in memory
    (`flash`, the same object as `fs`; pass one to 'restart' over the same flash), a
    FakeClock, and a holder (`presence`, also `holder`) who answers every question with
    `presence` (True yes, False no, None never). The one in-process fob fake
    (fob_fakes.Fob is this one with the settings in memory and no board info).

    `memory_settings` keeps the settings in memory (no settings file on the flash);
    `see_time` makes the first request's write of the time seen here, so tests count only
    the writes their requests make."""

    def __init__(
        self,
        accounts=(),
        presence=True,
        flash=None,
        clock=None,
        info=None,
        memory_settings=False,
        see_time=True,
    ):
        self.port = FakePort()
        self.fs = self.flash = flash if flash is not None else MemFS()
        self.vault = Vault("/", self.fs)
        self.vault.load()
        for a in accounts:
            self.vault.add(a)
        self.clock = clock if clock is not None else FakeClock()
        self.presence = self.holder = FakePresence(presence)
        self.proto = Protocol(
            self.port,
            self.vault,
            self.clock,
            dict(BOARD_INFO) if info is None else info,
            presence=self.presence,
        )
        if memory_settings:
            self.proto.settings = Settings()
        self.settings = self.proto.settings
        self.interim = []
        # After login(): (session key, counter); later requests carry the session's MAC.
        self.session = None
        if see_time:
            self.proto.guard.see_time(self.clock.now())
            self.fs.writes = 0

    def run(self, max_polls=10000):
        """Poll until nothing is waiting and no reply is half written."""
        for _ in range(max_polls):
            self.proto.poll()
            if not self.port.inbox and not self.proto.pending:
                return
        raise AssertionError("protocol did not go idle")

    def replies(self):
        text = self.port.take().decode("utf-8")
        assert text == "" or text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]

    def send(self, data):
        if isinstance(data, dict):
            data = json.dumps(data).encode() + b"\n"
        self.port.inbox += data
        self.run()
        return self.replies()

    def call(self, cmd, **args):
        """The final reply to one request (a request for a press answers twice: the
        "pending" line is kept in `interim`); signed when logged in."""
        req = {"id": 1, "cmd": cmd}
        req.update(args)
        line = json.dumps(req).encode()
        if self.session is not None:
            line = self.sign(line)
        # Polled as final_reply does: a question nobody answers leaves the protocol busy,
        # which is no failure here (the reply says what the fob did).
        self.port.inbox += line + b"\n"
        for _ in range(10000):
            self.proto.poll()
            if not self.port.inbox and not self.proto.pending:
                break
        out = self.replies()
        self.interim = [r for r in out if "pending" in r]
        out = [r for r in out if "pending" not in r]
        assert len(out) == 1 and out[0]["id"] == 1, out
        return out[0]

    def login(self, password):
        """Log in as otpfob does (docs/protocol.md, "Password" and "Sessions")."""
        from otpfob import auth

        self.session = None
        begin = self.call("auth_begin")
        fob_nonce = bytes.fromhex(begin["challenge"])
        key = auth.derive_key(password, bytes.fromhex(begin["salt"]), begin["iterations"])
        host_nonce = auth.new_nonce()
        r = self.call(
            "auth",
            challenge=host_nonce.hex(),
            fob_challenge=fob_nonce.hex(),
            response=auth.host_proof(key, fob_nonce, host_nonce).hex(),
        )
        assert r["ok"], r
        # As otpfob.client keeps it: (session key, counter of the next request).
        self.session = (auth.session_key(key, fob_nonce, host_nonce), 0)

    def sign(self, line):
        """`line` signed as the logged-in host's next request (the counter moves on)."""
        from otpfob import auth

        key, n = self.session
        self.session = (key, n + 1)
        return auth.sign_line(key, n, line)

    def labels(self):
        return [a.label() for a in self.vault.accounts]

    def vault_files(self):
        return {k: bytes(v) for k, v in self.fs.files.items() if "vault" in k}

    def state(self):
        # The vault's files; the password record (guard_*.bin) also keeps the highest time
        # seen, so it may change on any request.
        return (
            [copy.copy(a.__dict__) for a in self.vault.accounts],
            {k: copy.deepcopy(v) for k, v in self.fs.files.items() if "vault" in k},
        )


# -- the CLI's fob on a TCP port ------------------------------------------------------


class FakeRtc:
    """The DS3231's aging offset register behind a clock fake's aging() and set_aging(n);
    `broken` makes a write fail as a bus error would."""

    def __init__(self, aging=0):
        self.aging = aging
        self.broken = False


class WallClock(AgingRegister):
    """Laptop time plus an offset, or not set; `rtc` (a FakeRtc) holds the aging offset."""

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
    def __init__(self, root, clock=None, serial="fake0001"):
        self.serial = serial
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
            port = self._port(conn)
            proto = protocol_mod.Protocol(
                port,
                self.vault,
                self.clock,
                {"serial": self.serial, "board": "test"},
                presence=self.presence,
            )
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

    def _port(self, conn):
        return _Port(conn)

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


def final_reply(proto, port, line, passes=10000):
    """Feeds one request line to a Protocol on a FakePort-like port, polls until it is
    answered, and returns the final reply (a request for a press answers twice)."""
    port.inbox += line + b"\n"
    for _ in range(passes):
        proto.poll()
        if not port.inbox and not proto.pending:
            break
    lines = [json.loads(x) for x in bytes(port.out).decode().splitlines()]
    port.out.clear()
    final = [r for r in lines if "pending" not in r]
    assert len(final) == 1, lines
    return final[0]


class NoHotpFob(SocketFob):
    """A SocketFob as firmware before HOTP answers: its hello/info lists no "types", so a
    host must not send it HOTP accounts (tests of the host's refusal)."""

    def _port(self, conn):
        port = SocketFob._port(self, conn)
        write = port.write

        def without_types(data):
            if data.startswith(b"{") and data.endswith(b"\n") and b'"types"' in data:
                reply = json.loads(data)
                reply.pop("types", None)
                data = json.dumps(reply).encode() + b"\n"
            return write(data)

        port.write = without_types
        return port
