"""The simulated board outside the interpreter: firmware under MicroPython, chips in CPython.

On a board the DS3231, the SSD1306, the pins and the USB host are not on the firmware's
heap. Here they are not either: the firmware runs under the MicroPython unix port with
a small stand-in for the ``board``/``busio``/``digitalio``/``usb_cdc``/
``microcontroller``/``time`` modules (``mpy_stubs/simlink.py``) that forwards every I2C transaction, pin
read, data-channel byte and sleep over two pipes to a ``Board`` here, where the register
models (``otpfob.sim.ssd1306``, ``otpfob.sim.ds3231``) and the world clock answer. The
unmodified Adafruit drivers run inside MicroPython on top of the stand-in ``busio``.

The wire format is in ``mpy_stubs/simlink.py``. Virtual time moves only in the firmware's
``sleep()``; ``on_sleep(board)`` is called at each, to press buttons, feed the data
channel or look at the screen, and returns True to make the firmware's loop stop.
"""

import os
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from otpfob.sim.cp.usb_cdc import BufferLink
from otpfob.sim.ds3231 import DS3231
from otpfob.sim.i2c import Bus
from otpfob.sim.ssd1306 import SSD1306
from otpfob.sim.world import World

STUBS = Path(__file__).resolve().with_name("mpy_stubs")
# The native modules one stand-in (mpy_stubs/simlink.py) serves.
MODULES = ("board", "busio", "digitalio", "usb_cdc", "microcontroller", "time")

OP_WRITE = 0x57
OP_READ = 0x52
OP_WRITE_READ = 0x58
OP_PIN = 0x50
OP_PIN_NAME = 0x4E
OP_SLEEP = 0x53
OP_DATA_WAITING = 0x41
OP_DATA_READ = 0x72
OP_DATA_WRITE = 0x77
OP_UID = 0x55

PULL_UP = 1
PULL_DOWN = 2
STOP = 1
_OK = b"\x00"
_ENODEV = 19


class BridgeError(RuntimeError):
    pass


class Board:
    """The chips, pins, clock and USB host the stand-ins talk to."""

    def __init__(self, epoch, height=64, uid=b"\x00" * 8, drift_ppm=0.0):
        self.us = 0  # virtual microseconds since start; moved by the firmware's sleeps
        self.world = World(
            epoch=epoch, real_clock=self.monotonic, real_sleep=_no_sleep, wall_clock=lambda: epoch
        )
        self.bus = Bus()
        self.rtc = self.bus.attach(0x68, DS3231(self.world, drift_ppm=drift_ppm))
        self.rtc.set_epoch(epoch)
        self.panel = self.bus.attach(0x3C, SSD1306(128, height))
        self.uid = bytes(uid)
        self.link = BufferLink()
        self.pin_names = []
        self.external = {}  # pin name -> 0 while something (a pressed button) pulls it low
        self.requests = 0
        self.sleeps = 0

    def monotonic(self):
        return self.us / 1000000

    # -- the world's side ------------------------------------------------------------------
    def press(self, pin_name):
        self.external[pin_name] = 0

    def release(self, pin_name):
        self.external.pop(pin_name, None)

    def send(self, data):
        """Bytes from the host on the data channel."""
        self.link.feed(data)

    def received(self):
        """Bytes the firmware wrote on the data channel since the last call."""
        return self.link.drain()

    # -- requests --------------------------------------------------------------------------
    def serve(self, rfile, wfd, on_sleep):
        """Answer requests until the firmware closes its end; returns the request count."""
        head = struct.Struct("<BBHH")
        read = rfile.read
        while True:
            h = read(6)
            if len(h) < 6:
                return self.requests
            op, a, b, c = head.unpack(h)
            self.requests += 1
            data = (
                read(b)
                if b and op in (OP_WRITE, OP_WRITE_READ, OP_PIN_NAME, OP_DATA_WRITE)
                else b""
            )
            os.write(wfd, self.answer(op, a, b, c, data, on_sleep))

    def answer(self, op, a, b, c, data, on_sleep):
        if op == OP_SLEEP:
            self.sleeps += 1
            self.us += b | (c << 16)
            return _OK + bytes((STOP if on_sleep(self) else 0,))
        if op == OP_PIN:
            name = self.pin_names[a]
            level = self.external.get(name)
            if level is None:
                # Nothing drives a released button's pin: it floats to the pull.
                level = 1 if b == PULL_UP else 0
            return _OK + bytes((level,))
        try:
            if op == OP_WRITE:
                self.bus.write(a, data)
                return _OK
            if op == OP_READ:
                return _OK + bytes(self.bus.read(a, c))
            if op == OP_WRITE_READ:
                return _OK + bytes(self.bus.write_then_read(a, data, c))
        except OSError as e:
            return bytes((e.errno or _ENODEV,))
        if op == OP_DATA_WAITING:
            return _OK + struct.pack("<H", min(self.link.available(), 0xFFFF))
        if op == OP_DATA_READ:
            got = self.link.take(c)
            return _OK + struct.pack("<H", len(got)) + got
        if op == OP_DATA_WRITE:
            self.link.send(data)
            return _OK
        if op == OP_PIN_NAME:
            name = data.decode()
            if name not in self.pin_names:
                self.pin_names.append(name)
            return _OK + bytes((self.pin_names.index(name),))
        if op == OP_UID:
            return _OK + self.uid
        raise BridgeError("unknown request 0x%02x" % op)


def _no_sleep(seconds):
    pass


def _micropython():
    from otpfob.testing.mpy import unix_binary

    found = unix_binary()
    if found is None:
        raise BridgeError("no MicroPython unix port")
    return found


def preamble(paths, out_fd, in_fd, hide=()):
    """What a script needs before it imports the firmware: sys.path, the link open, and
    the stand-in registered under each module name it serves (``time`` included)."""
    lines = ["import sys"]
    for name in hide:
        lines.append("sys.modules[%r] = None" % name)
    lines.append("sys.path[:0] = %r" % [str(p) for p in paths])
    lines.append("import simlink")
    lines.append("simlink.open_link(%d, %d)" % (out_fd, in_fd))
    lines.append("simlink.data = simlink")  # usb_cdc.data: the module is the port
    for name in MODULES:
        lines.append("sys.modules[%r] = simlink" % name)
    return "\n".join(lines) + "\n"


class Result:
    def __init__(self, rc, stdout, stderr, board):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.board = board

    def check(self):
        if self.rc != 0:
            raise AssertionError(
                "MicroPython exited %s\n--- stdout\n%s\n--- stderr\n%s"
                % (self.rc, self.stdout[-4000:], self.stderr[-4000:])
            )
        return self


def run(script, board, on_sleep, paths=(), heapsize=128 * 1024, hide=(), timeout=600, stubs=STUBS):
    """Run ``script`` under the unix port with ``board`` behind the stand-ins.

    ``paths`` go first on sys.path, then ``stubs`` (a folder holding the stand-ins,
    plain or compiled to .mpy). The script runs after the preamble; when it ends (or
    fails) the result carries its exit status, output and the board as left."""

    def start(tmp, to_host_w, to_fw_r):
        src = Path(tmp) / "run.py"
        src.write_text(preamble(list(paths) + [str(stubs)], to_host_w, to_fw_r, hide) + script)
        return [_micropython(), "-X", "heapsize=%d" % heapsize, str(src)], None

    return _serve_process(start, board, on_sleep, timeout)


def _serve_process(start, board, on_sleep, timeout):
    """Start an interpreter (``start(tmp, out_fd, in_fd)`` writes what it needs into tmp
    and gives its command line and environment), answer its bus requests with ``board``
    until it ends, and return its Result."""
    to_host_r, to_host_w = os.pipe()
    to_fw_r, to_fw_w = os.pipe()
    with tempfile.TemporaryDirectory() as tmp:
        out = open(Path(tmp) / "out", "w+")
        err = open(Path(tmp) / "err", "w+")
        try:
            argv, env = start(tmp, to_host_w, to_fw_r)
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                pass_fds=(to_host_w, to_fw_r),
            )
        finally:
            os.close(to_host_w)
            os.close(to_fw_r)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            with os.fdopen(to_host_r, "rb") as rfile:
                board.serve(rfile, to_fw_w, on_sleep)
        except BrokenPipeError:
            pass
        finally:
            os.close(to_fw_w)
            rc = proc.wait()
            timer.cancel()
            out.seek(0)
            err.seek(0)
            res = Result(rc, out.read(), err.read(), board)
            out.close()
            err.close()
    return res


def _wasm_files(folders):
    """Every .py and .mpy under each host folder, mapped to /lib<i>/... in the port's
    in-memory filesystem; returns ({dest: host path}, [/lib<i>...])."""
    files, mounted = {}, []
    for i, root in enumerate(folders):
        root = Path(root)
        dest = "/lib%d" % i
        mounted.append(dest)
        for f in sorted(root.rglob("*")):
            if f.suffix in (".py", ".mpy") and f.is_file():
                files[dest + "/" + f.relative_to(root).as_posix()] = str(f)
    return files, mounted


def preamble_wasm(mounted, hide=()):
    """As ``preamble``, for the WebAssembly port: the stand-in reaches the board through
    the host's ``simlink_js`` functions instead of pipes it opens itself."""
    lines = ["import sys"]
    for name in hide:
        lines.append("sys.modules[%r] = None" % name)
    lines.append("sys.path[:0] = %r" % list(mounted))
    lines.append("import simlink")
    lines.append("import simlink_js")
    lines.append("simlink.open_js(simlink_js)")
    lines.append("del simlink_js")
    lines.append("simlink.data = simlink")
    for name in MODULES:
        lines.append("sys.modules[%r] = simlink" % name)
    return "\n".join(lines) + "\n"


def run_wasm(
    script,
    board,
    on_sleep,
    paths=(),
    heapsize=136 * 1024,
    hide=(),
    timeout=600,
    stubs=STUBS,
    state=None,
):
    """Run ``script`` on the 32-bit WebAssembly port (Node) with ``board`` behind the
    stand-ins. The script defines ``tick()`` (one pass of the loop; 0 ends the run), called
    from the top level, and ``finish()``, called after; see testing/wasm_bridge.mjs.
    ``state``: a host folder whose files are copied to ``/state`` (the fob's flash)."""
    from otpfob.testing.mpy import NODE_MODULES, wasm_available

    if not wasm_available():
        raise BridgeError("no Node.js or no WebAssembly MicroPython (npm ci)")
    runner = Path(__file__).resolve().parents[1] / "testing" / "wasm_bridge.mjs"
    files, mounted = _wasm_files(list(paths) + [str(stubs)])
    if state is not None:
        for f in sorted(Path(state).rglob("*")):
            if f.is_file() and "mpy" not in f.relative_to(state).parts[:1]:
                files["/state/" + f.relative_to(state).as_posix()] = str(f)

    def start(tmp, to_host_w, to_fw_r):
        import json

        spec = Path(tmp) / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "heapsize": heapsize,
                    "files": files,
                    "script": preamble_wasm(mounted, hide) + script,
                    "out_fd": to_host_w,
                    "in_fd": to_fw_r,
                }
            )
        )
        env = dict(os.environ, OTPFOB_NODE_MODULES=str(NODE_MODULES))
        return ["node", str(runner), str(spec)], env

    return _serve_process(start, board, on_sleep, timeout)
