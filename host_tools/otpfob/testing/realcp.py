"""The fob on real CircuitPython: the firmware as `otpfob deploy` writes it, booted on a
CircuitPython UF2 image in an emulated RP2040 (realcp.mjs over the emulator folder's
chip models), provisioned with the project's own CLI over the data channel.

    make test-realcp          the tier (tests/realcp/), every image in parallel
    python -m bench.realcp    the same run's figures (part of make bench)

Where things are (both relative to the checkout; the Makefile's set-up copies the
emulator's .mjs files into build/cp-emu/ and installs rp2040js and uf2 from the project's
package-lock.json):

    CP_IMAGES   folder of CircuitPython images for the Raspberry Pi Pico (8.2.6.uf2 ...)
                and bootrom.ts; default ../shared/cp-images
    CP_EMU      the emulator folder (chips.mjs, flash.mjs, usbhost.mjs, cp10.mjs);
                default ../shared/cp-emu

Emulated time runs at about 0.3x real time on a 2-core machine, so every figure here is in
emulated seconds, which are a board's seconds except that flash reads are as fast as
SRAM and I2C takes no time: `estimate()` adds what a board's XIP cache misses and its
400 kHz I2C bus cost (the counters come from the driver's --xip model).

The holder's yes to a host's question is one gesture on the fob's button, `YES`: the
harness watches the data channel for the fob's "pending": "presence" line and makes the
gesture in emulated time, so it works for any command and any client.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from otpfob import resources

REPO = resources.REPO
BUILD = REPO / "build" / "cp-emu"
DRIVER = Path(__file__).with_name("realcp.mjs")
EMULATOR_FILES = ("chips.mjs", "flash.mjs", "usbhost.mjs", "cp10.mjs")
BOARD = "raspberry_pi_pico"
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.uf2$")


@dataclass(frozen=True)
class Gesture:
    """What the holder does on the fob's button: `button` down `after` emulated seconds
    from now, for `hold` seconds."""

    button: str
    hold: float
    after: float

    def command(self):
        return "hold %s %.3f after %.3f" % (self.button, self.hold, self.after)


# The holder's yes to a question from a host (protocol 2, fob/question.py): A held until
# the bar has filled for 1.5 s after the whole question has been on the screen. A press
# that begins in the first second counts for nothing, so the hold begins later (the fob
# sends its "pending" line first, then draws); a long row scrolls to its end first (up
# to about 5 s), and the bar fills only from then, so the hold is long.
YES = Gesture("A", hold=7.0, after=1.6)
# A press that wakes a sleeping fob.
WAKE = Gesture("A", hold=0.15, after=0.0)


class RealcpError(Exception):
    """The emulated fob did not do what the run needed; the message says what and where
    to look (the emulator's console log and trace)."""


# --------------------------------------------------------------------------- where things are


def shared_default(name):
    return (REPO.parent / "shared" / name).resolve()


def images_dir():
    return Path(os.environ.get("CP_IMAGES") or shared_default("cp-images"))


def emulator_dir():
    return Path(os.environ.get("CP_EMU") or shared_default("cp-emu"))


def images(folder=None):
    """{version: uf2 path} of the CircuitPython images in the folder, oldest first."""
    folder = Path(folder or images_dir())
    found = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = VERSION_RE.match(p.name)
            if m:
                found.append((tuple(int(x) for x in m.groups()), p))
    return {".".join(map(str, v)): p for v, p in sorted(found)}


def missing():
    """Why the tier cannot run here (None when it can): no images, no emulator, or a
    set-up step not done."""
    folder = images_dir()
    if not images(folder):
        return (
            "no CircuitPython images (N.N.N.uf2) in %s: set CP_IMAGES to the folder that "
            "has them" % folder
        )
    if not (folder / "bootrom.ts").is_file():
        return "no bootrom.ts (the RP2040 bootrom) next to the images in %s" % folder
    emu = emulator_dir()
    if not all((emu / f).is_file() for f in EMULATOR_FILES):
        return "no emulator (%s) in %s: set CP_EMU to the folder that has them" % (
            ", ".join(EMULATOR_FILES),
            emu,
        )
    if not all((BUILD / f).is_file() for f in EMULATOR_FILES):
        return "the emulator is not set up in %s: run make test-realcp" % BUILD
    if not (REPO / "node_modules" / "rp2040js").is_dir():
        return "rp2040js is not installed: run make test-realcp (npm ci)"
    for tool in ("node", "mkfs.fat", "mcopy"):
        if shutil.which(tool) is None:
            return (
                "%s is not installed: run make test-realcp (it installs mtools and "
                "dosfstools)" % tool
            )
    return None


def otpfob_command():
    exe = Path(sys.executable).with_name("otpfob")
    return (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from otpfob.cli import main; main()"]
    )


def board_pins(board_file):
    """The emulator's --i2c-pins and --buttons from a board file (pins named "GPn")."""
    ns = {}
    exec(compile(Path(board_file).read_text(), str(board_file), "exec"), ns)
    gp = lambda name: int(str(name).removeprefix("GP"))  # noqa: E731
    return [
        "--i2c-pins",
        "%d,%d" % (gp(ns["I2C_SDA"]), gp(ns["I2C_SCL"])),
        "--buttons",
        ",".join("%s:%d" % (b, gp(p)) for b, p in ns["BUTTONS"]),
    ]


# --------------------------------------------------------------------------- the emulator


class Emulator:
    """One realcp.mjs process: a chip, its panel, clock chip and buttons."""

    def __init__(
        self,
        uf2,
        work,
        fs=None,
        fs_image=None,
        usb=True,
        xip=False,
        epoch=None,
        pins=None,
        rtc_ok=False,
        safe_mode_wait=True,
    ):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.log = self.work / "console.log"
        self.trace = self.work / "trace.jsonl"
        cmd = [
            "node",
            str(DRIVER),
            "--emu",
            str(BUILD),
            "--uf2",
            str(uf2),
            "--bootrom",
            str(Path(uf2).with_name("bootrom.ts")),
            "--log",
            str(self.log),
            "--trace",
            str(self.trace),
        ]
        cmd += ["--fs", str(fs)] if fs is not None else ["--fs-image", str(fs_image)]
        if not usb:
            cmd.append("--no-usb")
        if xip:
            cmd.append("--xip")
        if epoch is not None:
            cmd += ["--epoch", str(int(epoch))]
        if not safe_mode_wait:
            cmd.append("--no-safe-mode-wait")  # as CIRCUITPY_SAFE_MODE_DELAY = 0 on 10.3+
        if rtc_ok:
            cmd.append("--rtc-ok")  # the DS3231 keeps time (else it lost power)
        cmd += pins or board_pins(resources.boards_dir() / (BOARD + ".py"))
        self._stderr = open(self.work / "emulator.stderr", "ab")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RealcpError("the emulator did not start: see %s" % self._stderr.name)
        ports = json.loads(line)
        self.data_port, self.control_port = ports["data"], ports["control"]
        (self.work / "ports.json").write_text(json.dumps(ports))  # for a look by hand
        self._ctl = socket.create_connection(("127.0.0.1", self.control_port), timeout=60)
        self._ctl_buf = b""
        self._lock = threading.Lock()
        self._trace_pos = 0
        self.events = []

    # -- control port ------------------------------------------------------------------------
    def ctl(self, line):
        with self._lock:
            self._ctl.sendall(line.encode() + b"\n")
            while b"\n" not in self._ctl_buf:
                chunk = self._ctl.recv(65536)
                if not chunk:
                    raise RealcpError(
                        "the emulator closed its control port (exit %s): see %s"
                        % (self.proc.poll(), self._stderr.name)
                    )
                self._ctl_buf += chunk
            reply, self._ctl_buf = self._ctl_buf.split(b"\n", 1)
        reply = reply.decode()
        if not reply.startswith("ok"):
            raise RealcpError("emulator: %s -> %s" % (line, reply))
        return reply[3:]

    def status(self):
        return json.loads(self.ctl("status"))

    def passes(self):
        """The longest pass of the fob's loop (interval between two watchdog feeds) since
        the last call, and every pass over a second; starts a new window."""
        return json.loads(self.ctl("passes"))

    def sim_s(self):
        return self.status()["sim_s"]

    def gesture(self, g):
        self.ctl(g.command())

    def press_after_dark(self, button, seconds):
        self.ctl("press-after-dark %s %.3f" % (button, seconds))

    def power_cycle(self, usb):
        self.ctl("power-cycle " + ("usb" if usb else "no-usb"))

    # -- the trace ---------------------------------------------------------------------------
    def poll(self):
        """Read the trace events written since the last poll into self.events."""
        try:
            with open(self.trace, "rb") as f:
                f.seek(self._trace_pos)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1
        self._trace_pos += end
        new = [json.loads(x) for x in chunk[:end].splitlines() if x.strip()]
        self.events += new
        return new

    def wait(self, pred, what, timeout=900, every=0.5):
        """Poll until pred() gives something true (returned); RealcpError after `timeout`
        real seconds, or if the emulator ends."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            got = pred()
            if got:
                return got
            if self.proc.poll() is not None:
                raise RealcpError(
                    "the emulator ended (exit %s) waiting for %s: see %s"
                    % (self.proc.returncode, what, self._stderr.name)
                )
            if time.monotonic() > deadline:
                raise RealcpError(
                    "timed out after %d s waiting for %s (emulated %.1f s; "
                    "console log %s)" % (timeout, what, self.sim_s(), self.log)
                )
            time.sleep(every)

    def wait_sim(self, seconds, timeout=900):
        """Let `seconds` of emulated time pass."""
        until = self.sim_s() + seconds
        self.wait(lambda: self.sim_s() >= until, "%.1f emulated seconds" % seconds, timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ctl("quit")
                self.proc.wait(10)
            except (OSError, RealcpError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
        try:
            self._ctl.close()
        except OSError:
            pass
        self._stderr.close()
        self.poll()

    def console(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------- questions


class Proxy:
    """The data channel passed through the harness: what the fob sends is watched for its
    interim "pending": "presence" line, and `on_prompt(prompt)` is called for each, so the
    holder's gesture is made whatever client asked."""

    def __init__(self, port, on_prompt, log=None, before_reply=None):
        self.port = port
        self.on_prompt = on_prompt
        # Called with each whole line from the fob before the client gets it (it may wait:
        # the client's next request then waits too).
        self.before_reply = before_reply
        self.prompts = []
        self._log = open(log, "ab") if log else None  # every byte each way, for a look
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.listen_port = self._server.getsockname()[1]
        self.url = "socket://127.0.0.1:%d" % self.listen_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                host, _ = self._server.accept()
            except OSError:
                return
            fob = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self._pump, args=(host, fob, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(fob, host, True), daemon=True).start()

    def _pump(self, src, dst, from_fob):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self._log is not None:
                    self._log.write(
                        b"%s %.3f %s\n" % (b"<" if from_fob else b">", time.monotonic(), data)
                    )
                    self._log.flush()
                if not from_fob:
                    dst.sendall(data)
                    continue
                # Line by line from the fob, so a reply can wait for the holder's hand.
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    self._watch(line)
                    if self.before_reply is not None:
                        self.before_reply(line)
                    dst.sendall(line + b"\n")
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _watch(self, line):
        if b'"pending"' not in line:
            return
        try:
            reply = json.loads(line)
        except ValueError:
            return
        if isinstance(reply, dict) and reply.get("pending") == "presence":
            self.prompts.append(str(reply.get("prompt")))
            self.on_prompt(reply)

    def close(self):
        self._server.close()
        if self._log is not None:
            self._log.close()


# --------------------------------------------------------------------------- a deployed fob


def deploy(drive, version, fmt="mpy"):
    """Fill `drive` as `otpfob deploy` fills a CIRCUITPY drive running CircuitPython
    `version` (it reads the version from boot_out.txt, as on a board)."""
    drive = Path(drive)
    shutil.rmtree(drive, ignore_errors=True)
    drive.mkdir(parents=True)
    (drive / "boot_out.txt").write_text(
        "Adafruit CircuitPython %s on 2025-01-01; Raspberry Pi Pico with rp2040\n"
        "Board ID:%s\n" % (version, BOARD)
    )
    cmd = otpfob_command() + ["deploy", "--drive", str(drive), "--board", BOARD, "--force"]
    if fmt == "py":
        cmd.append("--py")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RealcpError("otpfob deploy failed: %s" % (r.stderr or r.stdout)[-500:])
    if ("installing .mpy" in r.stdout) != (fmt == "mpy"):
        raise RealcpError("otpfob deploy did not install %s files:\n%s" % (fmt, r.stdout))
    (drive / "boot_out.txt").unlink()  # CircuitPython writes its own at boot
    return r.stdout


@dataclass
class CliResult:
    argv: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # emulated seconds from the command's start to its end
    passes: dict  # the emulator's `passes` over the command

    def json(self):
        return json.loads(self.stdout)


class Fob:
    """A fob on one image: the emulator, the proxy that answers questions with YES, and
    the CLI run against it."""

    def __init__(self, version, uf2, work, fmt="mpy", xip=False, safe_mode_wait=True):
        self.version = version
        self.uf2 = Path(uf2)
        self.work = Path(work)
        self.fmt = fmt
        self.xip = xip
        self.safe_mode_wait = safe_mode_wait
        self.drive = self.work / "drive"
        self.emu = None
        self.proxy = None
        self.password = None
        self.answer = YES  # the gesture made for each question (None: no answer)
        self._hand = None  # (request id, emulated s when the gesture's button is up)

    def start(self):
        deploy(self.drive, self.version, self.fmt)
        self.emu = Emulator(
            self.uf2,
            self.work / "emu",
            fs=self.drive,
            xip=self.xip,
            safe_mode_wait=self.safe_mode_wait,
        )
        self.proxy = Proxy(
            self.emu.data_port, self._prompted, self.work / "emu" / "data.log", self._replied
        )
        return self

    def _prompted(self, reply):
        if self.answer is not None:
            # The button is let go before the client hears the answer: a hold still going
            # would be down already when the next question comes, and count for nothing.
            self._hand = (
                reply.get("id"),
                self.emu.sim_s() + self.answer.after + self.answer.hold + 0.1,
            )
            self.emu.gesture(self.answer)

    def _replied(self, line):
        hand = self._hand
        if hand is None or b'"pending"' in line or b'"ok"' not in line:
            return
        try:
            rid = json.loads(line).get("id")
        except ValueError:
            return
        if rid != hand[0]:
            return
        self._hand = None
        deadline = time.monotonic() + 600
        while self.emu.sim_s() < hand[1] and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self):
        if self.proxy is not None:
            self.proxy.close()
        if self.emu is not None:
            self.emu.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def wait_connected(self, timeout=600):
        self.emu.wait(lambda: self.emu.status()["usb_connected"], "the USB data channel", timeout)

    def cli(self, *args, timeout=3600, check=True, env=None):
        """`otpfob --port <the fob> --json ARGS` with the fob's questions answered."""
        argv = otpfob_command() + ["--port", self.proxy.url, "--json", "--timeout", "1200"]
        if self.password:
            argv += ["--password", self.password]
        argv += [str(a) for a in args]
        self.emu.passes()
        t0 = self.emu.sim_s()
        full_env = dict(os.environ, OTPFOB_HOME=str(self.work / "home"))
        full_env.update(env or {})
        r = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=self.work
        )
        res = CliResult(
            argv, r.returncode, r.stdout, r.stderr, self.emu.sim_s() - t0, self.emu.passes()
        )
        if check and r.returncode != 0:
            raise RealcpError(
                "otpfob %s failed (exit %d): %s\n(console log: %s)"
                % (
                    " ".join(str(a) for a in args),
                    r.returncode,
                    (r.stderr or r.stdout).strip()[-600:],
                    self.emu.log,
                )
            )
        return res


# --------------------------------------------------------------------------- checking codes


def totp(secret, t, digits=6, period=30, algorithm="SHA1"):
    """The code pyotp computes: the reference the fob's codes are checked against."""
    import hashlib

    import pyotp

    class Ref(pyotp.TOTP):
        min_secret_length_bits = 80

    digest = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}[
        algorithm.upper()
    ]
    return Ref(secret, digits=digits, interval=period, digest=digest).at(int(t))


def frames(events, since=0.0):
    """The panel's frames in the trace from emulated time `since`: [(t, on, rtc, ram)]."""
    return [
        (e["t"], e["on"], e["rtc"], bytes.fromhex(e["ram"]), e)
        for e in events
        if e["ev"] == "oled" and e["t"] >= since
    ]


def first_right_code(events, account, since):
    """(frame event, code) of the first lit frame from `since` that shows `account`'s
    right code for the clock chip's time then, and the wrong codes lit before it."""
    from otpfob.testing import panel

    wrong = []
    for t, on, rtc, ram, ev in frames(events, since):
        if not on:
            continue
        shown = panel.big_digits(ram)
        if not shown:
            continue
        if shown == account.code(rtc):
            return ev, shown, wrong
        if shown != account.code(rtc - 1):  # a frame drawn just before the tick
            wrong.append((t, shown))
    return None, None, wrong


# Real-board estimate of an emulated interval. The emulator runs every instruction at
# 125 MHz with flash as fast as SRAM and moves I2C bytes in no time. A board waits on
# each XIP cache miss: CircuitPython's boot2 reads the QSPI flash at clk_sys/4 in quad
# continuous-read mode, about 26-28 SCK cycles (address, mode, dummy, 8 data bytes) for
# an 8-byte line, so 104-112 system cycles; 60 is a low bound for a line whose fetch
# overlaps. I2C runs at 400 kHz, 9 bits a byte.
MISS_CYCLES = (60, 110)
I2C_BYTE_S = 9 / 400e3


def estimate(seconds, misses, i2c_bytes):
    """(low, high) board seconds for an emulated interval with these counts."""
    base = seconds + i2c_bytes * I2C_BYTE_S
    return tuple(round(base + misses * c / 125e6, 3) for c in MISS_CYCLES)


@dataclass
class Account:
    issuer: str
    name: str
    secret: str
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30

    def uri(self):
        return "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=%s&digits=%d&period=%d" % (
            self.issuer,
            self.name,
            self.secret,
            self.issuer,
            self.algorithm,
            self.digits,
            self.period,
        )

    def code(self, t):
        return totp(self.secret, t, self.digits, self.period, self.algorithm)


def accounts(n, seed=19):
    """`n` distinct accounts, most SHA-1 with 6 digits, some SHA-256 and SHA-512, some with
    8 digits or a 60 s period, as people's exports mix them."""
    import base64
    import hashlib

    out = []
    for i in range(n):
        raw = hashlib.sha256(b"otpfob realcp %d %d" % (seed, i)).digest()[:20]
        algorithm = "SHA256" if i % 25 == 7 else "SHA512" if i % 50 == 13 else "SHA1"
        out.append(
            Account(
                "Issuer%03d" % i,
                "user%03d@example.com" % i,
                base64.b32encode(raw).decode().rstrip("="),
                algorithm,
                8 if i % 40 == 21 else 6,
                60 if i % 60 == 33 else 30,
            )
        )
    return out


def check_codes(listed, replies, accts):
    """Every code reply against pyotp at the fob's own time; returns the mismatches."""
    by_label = {(a.issuer, a.name): a for a in accts}
    bad = []
    for item in replies:
        a = by_label.get((item.get("issuer"), item.get("name")))
        if a is None:
            bad.append(
                "%s:%s is not an account the run added" % (item.get("issuer"), item.get("name"))
            )
            continue
        want = a.code(item["time"])
        if item.get("code") != want:
            bad.append(
                "%s:%s shows %s at %s, pyotp says %s"
                % (a.issuer, a.name, item.get("code"), item["time"], want)
            )
    return bad


def tmpdir(prefix):
    return Path(tempfile.mkdtemp(prefix=prefix))


# --------------------------------------------------------------------------- one whole run

ACCOUNTS = 200
PASSWORD = "correct horse 19"
NEW_PASSWORD = "battery staple 19"
IDLE = 5  # seconds to dark for the sleep checks (the fob's shortest "Blank after")
ASLEEP = 60  # seconds the fob lies in light sleep before the press that wakes it


class Run:
    """Everything the tier checks, on one image, in one emulator: results in `self.r`.

    1. boot the deployed firmware with a USB host; `info`; `time set`;
    2. `import` of ACCOUNTS accounts in one command (when the fob cannot, the same accounts
       are written to its flash by the firmware's own vault code on this computer, so that
       the rest still runs at ACCOUNTS accounts), `list`, `code` for all (each against
       pyotp), `delete`, `rename`;
    3. away from USB (power cycled without a host): the code after power-on, a minute of
       light sleep that must stay dark, a press -> the right code (light-sleep wake), light
       sleep until deep sleep, a press -> the right code (deep-sleep wake);
    4. back on USB: `password set`, `password change`, codes with the password, `reset`.
    For each command: whether it worked, its emulated time, the longest pass of the fob's
    loop and the passes over 1 s (watchdog feeds); the heap the fob reports; the watchdog's
    firings. A command that fails is recorded and the run goes on; `errors` holds what
    stopped the run itself."""

    def __init__(
        self,
        version,
        uf2,
        work,
        fmt="mpy",
        steps=("provision", "sleep", "manage"),
        accounts_n=ACCOUNTS,
        say=None,
        safe_mode_wait=True,
    ):
        self.version = version
        self.fob = Fob(version, uf2, work, fmt, safe_mode_wait=safe_mode_wait)
        self.work = Path(work)
        self.steps = steps
        self.accounts = accounts(accounts_n)
        self.say = say or (lambda text: None)
        self.r = {
            "image": version,
            "format": fmt,
            "safe_mode_wait": safe_mode_wait,
            "accounts": accounts_n,
            "ops": {},
            "errors": [],
            "heap": {},
        }

    def op(self, name, *args, **kw):
        res = self.fob.cli(*args, check=False, **kw)
        p = res.passes
        rec = {
            "seconds": round(res.seconds, 3),
            "longest_pass": round(max(p["longest"], p["open"]), 3),
            "over_1s": p["over"],
            "returncode": res.returncode,
        }
        if res.returncode != 0:
            rec["error"] = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["?"]
            rec["error"] = rec["error"][0][-300:]
        self.r["ops"][name] = rec
        self.say(
            "%s %s: %s, %.2f s emulated, longest pass %.3f s"
            % (
                self.version,
                name,
                "ok" if res.returncode == 0 else rec["error"],
                res.seconds,
                rec["longest_pass"],
            )
        )
        return res

    def ok(self, name):
        return self.r["ops"].get(name, {}).get("returncode") == 0

    def json_of(self, res, default):
        try:
            return res.json() if res.returncode == 0 else default
        except ValueError:
            return default

    def heap(self, when):
        info = self.json_of(self.op("info " + when, "info"), {})
        self.r["heap"][when] = info.get("heap")
        return info

    def run(self):
        t0 = time.monotonic()
        try:
            self.fob.start()
            if "provision" in self.steps:
                self.provision()
            if "sleep" in self.steps:
                self.sleep()
            if "manage" in self.steps:
                self.manage()
        except RealcpError as e:
            self.r["errors"].append(str(e))
        finally:
            try:
                st = self.fob.emu.status()
                self.r["watchdog_fired"] = st["watchdog_fired"]
                self.r["resets"] = st["resets"]
                self.r["sim_s"] = round(st["sim_s"], 3)
                self.r["flash"] = st["flash"]
            except (RealcpError, OSError, AttributeError) as e:
                self.r["errors"].append("no final status: %s" % e)
            self.fob.close()
            self.r["wall_s"] = round(time.monotonic() - t0, 1)
            (self.work / "results.json").write_text(json.dumps(self.r, indent=1))
        return self.r

    # -- 1 and 2 -------------------------------------------------------------------------
    def provision(self):
        fob, emu, r = self.fob, self.fob.emu, self.r
        fob.wait_connected()
        lit = emu.wait(
            lambda: next((e for e in emu.events if e["ev"] == "oled" and e["on"]), None),
            "the first screen",
        )
        r["boot_s"] = lit["t"]
        self.heap("at boot")
        self.op("time set", "time", "set")
        listing = self.work / "accounts.txt"
        listing.write_text("".join(a.uri() + "\n" for a in self.accounts))
        self.op("import", "import", listing)
        self.heap("after the import")
        if not self.ok("import"):
            # The rest is measured at the same number of accounts: the vault as an import
            # would have written it, put on the fob's flash.
            self.load_vault()
            r["vault_loaded"] = True
            self.heap("with the vault loaded")
        listed = self.json_of(self.op("list", "list"), [])
        r["listed"] = len(listed)
        r["list_matches"] = [(x["issuer"], x["name"]) for x in listed] == [
            (a.issuer, a.name) for a in self.accounts
        ]
        codes = self.json_of(self.op("code", "code"), [])
        r["codes"] = len(codes)
        r["code_mismatches"] = check_codes(listed, codes, self.accounts)
        self.op("delete", "delete", "#%d" % len(self.accounts), "--force")
        if self.ok("delete"):
            gone = self.accounts.pop()
        renamed = self.accounts[1]
        self.op("rename", "rename", "#2", "renamed@example.com")
        if self.ok("rename"):
            renamed.name = "renamed@example.com"
        after = self.json_of(self.op("list after delete and rename", "list"), [])
        r["edits_ok"] = [(x["issuer"], x["name"]) for x in after] == [
            (a.issuer, a.name) for a in self.accounts
        ]
        if self.ok("delete"):
            r["edits_ok"] = r["edits_ok"] and (gone.issuer, gone.name) not in [
                (x["issuer"], x["name"]) for x in after
            ]
        self.heap("after the edits")

    def load_vault(self):
        """Write self.accounts to the fob's flash as its vault (the firmware's own vault
        code, run here) and power it on again with a USB host."""
        emu = self.fob.emu
        emu.wait_sim(2)  # CircuitPython writes its cached flash sectors out
        image = self.work / "circuitpy.img"
        emu.ctl("fs-image %s" % image)
        with tempfile.TemporaryDirectory(prefix="otpfob-vault-") as folder:
            for name in write_vault(folder, self.accounts):
                subprocess.run(
                    ["mcopy", "-o", "-i", str(image), str(Path(folder) / name), "::" + name],
                    check=True,
                    capture_output=True,
                )
        emu.ctl("fs-load %s usb" % image)
        self.fob.wait_connected()

    # -- 3 ---------------------------------------------------------------------------------
    def sleep(self):
        fob, emu, r = self.fob, self.fob.emu, self.r
        shown = self.accounts[0]  # the first entry after a power-on; kept through sleep
        self.op("idle timeout", "settings", "set", "idle_timeout", IDLE)
        emu.ctl("xip on")
        emu.power_cycle(usb=False)
        t_on = emu.sim_s()
        emu.poll()
        ev, code, wrong = emu.wait(
            lambda: _got(first_right_code(emu.events, shown, t_on)), "the right code after power-on"
        )
        r["power_on"] = {
            "to_code_s": round(ev["t"] - t_on, 3),
            "wrong_codes": wrong,
            "waits_s": _first(emu.events, "fs", t_on, "t", t_on),
            "steps": _steps(emu.events, t_on, ev["t"]),
        }
        self.say("%s power-on -> code %.2f s" % (self.version, ev["t"] - t_on))
        # Dark after IDLE s; a minute of light sleep that must stay dark; then a press.
        emu.press_after_dark(WAKE.button, ASLEEP)
        dark = emu.wait(lambda: _dark_after(emu.events, ev["t"]), "the panel to go dark")
        press = emu.wait(
            lambda: first_event(emu.events, "press", dark["t"]),
            "the wake press after a minute asleep",
            timeout=1200,
        )
        lit_between = [
            e["t"]
            for e in emu.events
            if e["ev"] == "oled" and e["on"] and dark["t"] < e["t"] < press["t"]
        ]
        r["light"] = {
            "dark_at": dark["t"],
            "asleep_s": round(press["t"] - dark["t"], 3),
            "lit_while_asleep": lit_between,
        }
        ev, code, wrong = emu.wait(
            lambda: _got(first_right_code(emu.events, shown, press["t"])),
            "the right code after the light-sleep wake",
        )
        r["light"].update(self.latency(press, ev, wrong))
        self.say("%s light sleep -> code %.3f s" % (self.version, r["light"]["press_to_code_s"]))
        # Dark again; light sleep until the deep-sleep deadline; deep sleep; a press.
        dark = emu.wait(lambda: _dark_after(emu.events, ev["t"]), "the panel to go dark again")
        dormant = emu.wait(
            lambda: first_event(emu.events, "dormant", dark["t"]),
            "deep sleep (the crystal dormant)",
            timeout=1800,
        )
        r["deep"] = {"light_sleep_before_s": round(dormant["t"] - dark["t"], 3)}
        emu.gesture(WAKE)
        press = emu.wait(lambda: first_event(emu.events, "press", dormant["t"]), "the wake press")
        ev, code, wrong = emu.wait(
            lambda: _got(first_right_code(emu.events, shown, press["t"])),
            "the right code after the deep-sleep wake",
        )
        r["deep"].update(self.latency(press, ev, wrong))
        reset = first_event(emu.events, "reset", press["t"])
        r["deep"]["reset_after_press_s"] = round(reset["t"] - press["t"], 3) if reset else None
        r["deep"]["steps"] = _steps(emu.events, press["t"], ev["t"])
        r["deep"]["waits_s"] = _first(
            emu.events,
            "fs",
            reset["t"] if reset else press["t"],
            "t",
            reset["t"] if reset else press["t"],
        )
        self.say("%s deep sleep -> code %.3f s" % (self.version, r["deep"]["press_to_code_s"]))
        emu.ctl("xip off")
        emu.power_cycle(usb=True)
        fob.wait_connected()

    @staticmethod
    def latency(press, ev, wrong):
        seconds = ev["t"] - press["t"]
        return {
            "press_to_code_s": round(seconds, 3),
            "board_estimate_s": estimate(
                seconds, ev["xm"] - press["xm"], ev["i2cb"] - press["i2cb"]
            ),
            "wrong_codes": wrong,
        }

    # -- 4 ---------------------------------------------------------------------------------
    def manage(self):
        fob, r = self.fob, self.r
        if "sleep" not in self.steps and "provision" not in self.steps:
            fob.wait_connected()
        self.op(
            "password set",
            "password",
            "set",
            "--iterations",
            "10000",
            env={"OTPFOB_NEW_PASSWORD": PASSWORD},
        )
        if self.ok("password set"):
            fob.password = PASSWORD
            self.op(
                "password change",
                "password",
                "change",
                "--iterations",
                "10000",
                env={"OTPFOB_NEW_PASSWORD": NEW_PASSWORD},
            )
            if self.ok("password change"):
                fob.password = NEW_PASSWORD
        listed = self.json_of(self.op("list with the password", "list"), [])
        codes = self.json_of(self.op("code with the password", "code"), [])
        r["codes_with_password"] = len(codes)
        r["codes_with_password_mismatches"] = check_codes(listed, codes, self.accounts)
        self.heap("with the password")
        self.op("reset", "reset", "--force")
        if self.ok("reset"):
            fob.password = None
        r["after_reset"] = len(self.json_of(self.op("list after reset", "list"), [None]))


def firmware_module(name):
    """A firmware module (fob.vault ...) imported here from the firmware folder."""
    import importlib

    resources.use_firmware()
    return importlib.import_module(name)


def write_vault(folder, accts, created=1_800_000_000):
    """The vault files an import of `accts` writes, made by fob/vault.py in `folder`;
    returns their names."""
    import base64

    vault = firmware_module("fob.vault")
    v = vault.Vault(str(folder))
    v.load()
    v.add_many(
        [
            vault.Account(
                a.name,
                a.issuer,
                base64.b32decode(a.secret + "=" * (-len(a.secret) % 8)),
                a.algorithm,
                a.digits,
                a.period,
                created,
            )
            for a in accts
        ]
    )
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("vault_"))


def run_images(
    images,
    out,
    fmt="mpy",
    steps=("provision", "sleep", "manage"),
    accounts_n=ACCOUNTS,
    say=None,
    safe_mode_wait=True,
):
    """Run on every image side by side (a thread each, around its emulator); results by
    version. Each run's folder is out/<version> (out/<version>-py for .py files, and
    -nowait for a run without the safe-mode wait)."""
    results = {}

    def one(version):
        name = version if fmt == "mpy" else "%s-%s" % (version, fmt)
        folder = Path(out) / (name if safe_mode_wait else name + "-nowait")
        results[version] = Run(
            version,
            images[version],
            folder,
            fmt,
            steps=steps,
            accounts_n=accounts_n,
            say=say,
            safe_mode_wait=safe_mode_wait,
        ).run()

    threads = [threading.Thread(target=one, args=(v,)) for v in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _got(found):
    ev, code, wrong = found
    return (ev, code, wrong) if ev is not None else None


def first_event(events, kind, since):
    return next((e for e in events if e["ev"] == kind and e["t"] > since), None)


def _dark_after(events, since):
    return next((e for e in events if e["ev"] == "oled" and not e["on"] and e["t"] > since), None)


def _steps(events, since, code_at):
    """Where the time from `since` to the right code went, from the trace: the chip's
    reset, CircuitPython's own start until it reads CIRCUITPY (its waits), boot.py until
    USB starts, then code.py to the right code (emulated seconds from `since`)."""
    out = {}
    for name, kind in (("reset", "reset"), ("CIRCUITPY read", "fs"), ("USB started", "usb")):
        e = first_event(events, kind, since)
        out[name] = round(e["t"] - since, 3) if e and e["t"] <= code_at else None
    out["right code"] = round(code_at - since, 3)
    return out


def _first(events, kind, since, key, origin):
    e = first_event(events, kind, since)
    return round(e[key] - origin, 3) if e else None


# --------------------------------------------------------------------------- figures


def report(results):
    """Lines of figures for runs' results (make test-realcp's summary, bench.realcp)."""
    out = []
    for r in results:
        out.append(
            "CircuitPython %s, %s files: %s emulated s in %s s of wall time%s"
            % (
                r["image"],
                r["format"],
                r.get("sim_s"),
                r.get("wall_s"),
                "" if not r.get("errors") else "; ERRORS: " + " | ".join(r["errors"]),
            )
        )
        if "boot_s" in r:
            out.append("  boot (power-on, USB host) to the first screen: %.2f s" % r["boot_s"])
        for name, op in r.get("ops", {}).items():
            over = ", ".join("%.2f s at %.1f" % (g, t) for t, g in op["over_1s"])
            out.append(
                "  %-32s %7.2f s  longest pass %6.3f s%s"
                % (
                    name,
                    op["seconds"],
                    op["longest_pass"],
                    "  (over 1 s: %s)" % over if over else "",
                )
            )
        for when, h in r.get("heap", {}).items():
            if h:
                out.append(
                    "  heap %-27s free %7d B, low-water mark %7d B" % (when, h["free"], h["low"])
                )
        if "power_on" in r:
            p = r["power_on"]
            out.append(
                "  power-on (no USB) to the right code: %.3f s (CircuitPython's own "
                "start before it reads CIRCUITPY: %s s)" % (p["to_code_s"], p["waits_s"])
            )
        for kind in ("light", "deep"):
            w = r.get(kind)
            if w and "press_to_code_s" in w:
                est = w["board_estimate_s"]
                out.append(
                    "  %s-sleep wake: press -> right code %.3f s (board estimate "
                    "%.2f-%.2f s)%s"
                    % (
                        kind,
                        w["press_to_code_s"],
                        est[0],
                        est[1],
                        "; wrong codes shown: %s" % w["wrong_codes"] if w["wrong_codes"] else "",
                    )
                )
        for kind, label in (("power_on", "power-on"), ("deep", "deep-sleep wake")):
            steps = (r.get(kind) or {}).get("steps")
            if steps:
                out.append(
                    "  %s, s from the %s: %s"
                    % (
                        label,
                        "power-on" if kind == "power_on" else "press",
                        ", ".join("%s %s" % (k, v) for k, v in steps.items() if v is not None),
                    )
                )
        if "light" in r:
            out.append(
                "  light sleep: %.1f s asleep, lit meanwhile: %s"
                % (r["light"]["asleep_s"], r["light"]["lit_while_asleep"] or "never")
            )
        out.append("  watchdog fired at: %s" % (r.get("watchdog_fired") or "never"))
    return out
