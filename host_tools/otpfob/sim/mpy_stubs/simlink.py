# Stand-ins for the native modules the firmware and the Adafruit drivers import (board,
# busio, digitalio, usb_cdc, microcontroller, time): the simulator's chips, pins, clock
# and host run in CPython (otpfob.sim.bridge), so, as on a board, they are not on the
# firmware's heap. On a board these modules are native code; here one small module
# stands for all of them (bridge.preamble registers it under each name), since every
# module costs its own heap.
#
# Wire: two pipes, requests out, replies in. Request: op u8 | a u8 | b u16 | c u16 (little
# endian), then b bytes for the ops that carry data (bridge.py lists the ops). Reply:
# status u8 (0, or an errno raised as OSError), then what the op returns. The buffers are
# made once: every call here is in the firmware's main loop.
from micropython import const

_OP_WRITE = const(0x57)
_OP_READ = const(0x52)
_OP_WRITE_READ = const(0x58)
_OP_PIN = const(0x50)
_OP_PIN_NAME = const(0x4E)
_OP_SLEEP = const(0x53)
_OP_DATA_WAITING = const(0x41)
_OP_DATA_READ = const(0x72)
_OP_DATA_WRITE = const(0x77)
_OP_UID = const(0x55)

_w = None
_r = None
_head = bytearray(6)
_b1 = bytearray(1)  # the status, then one-byte replies
_b2 = bytearray(2)  # u16 replies
_us = 0
_now = 0.0
stopped = False  # set when the simulator ends the run (at a sleep)


_js = None  # on the WebAssembly port: the host's functions, which move the bytes
_addr = None  # uctypes.addressof there: buffers go to the host by address, not as objects


def open_link(out_fd, in_fd):
    global _w, _r
    _w = open("/dev/fd/%d" % out_fd, "wb")
    _r = open("/dev/fd/%d" % in_fd, "rb")
    _call(_OP_UID, 0, 0, 0, None, cpu.uid)


def open_js(module):
    """The WebAssembly port has no pipes: ``module.call`` (header fields, the address of
    the bytes to send, the address and size of the reply) and ``module.fill`` (address,
    size) do the pipe work in the host (testing/wasm_bridge.mjs). Ints only cross, so a
    call allocates nothing on this heap."""
    global _js, _addr
    import uctypes

    _js = module
    _addr = uctypes.addressof
    _call(_OP_UID, 0, 0, 0, None, cpu.uid)


def _call(op, a, b, c, data, into):
    if _js is not None:
        st = _js.call(op, a, b, c, _addr(data) if b and data is not None else 0,
                      _addr(into) if into is not None else 0,
                      len(into) if into is not None else 0)
        if st:
            raise OSError(st)
        return
    h = _head
    h[0] = op
    h[1] = a
    h[2] = b & 0xFF
    h[3] = b >> 8
    h[4] = c & 0xFF
    h[5] = c >> 8
    _w.write(h)
    if b and data is not None:
        _w.write(data)
    _fill(_b1)
    if _b1[0]:
        raise OSError(_b1[0])
    if into is not None:
        _fill(into)


def _fill(buf):
    if _js is not None:
        if len(buf):
            _js.fill(_addr(buf), len(buf))
        return
    got = 0
    while got < len(buf):
        # A pipe may deliver a reply in pieces.
        k = _r.readinto(memoryview(buf)[got:])
        if not k:
            raise OSError(32)  # the simulator went away: EPIPE
        got += k


# board: any upper-case name is a pin (the board file decides which exist); a pin is its
# name. usb_cdc.data is this module too, so its in_waiting is asked of the host here.
# Other names (time.struct_time, which MicroPython lacks) stay missing.
def __getattr__(name):
    if name == "in_waiting":
        _call(_OP_DATA_WAITING, 0, 0, 0, None, _b2)
        return _b2[0] | _b2[1] << 8
    if not name.isupper():
        raise AttributeError(name)
    return name


# time: the simulator owns the clock; each sleep is a step of virtual time it uses to
# move the world (buttons, host bytes), so monotonic() changes only there.
def monotonic():
    return _now


time = monotonic  # time.time(), which MicroPython has and the firmware may look up


def sleep(seconds):
    global _us, _now, stopped
    us = int(seconds * 1000000 + 0.5)
    _call(_OP_SLEEP, 0, us & 0xFFFF, us >> 16, None, _b1)
    _us += us
    _now = _us / 1000000
    if _b1[0]:
        stopped = True


# busio: I2C transactions go over the wire, with the lock CircuitPython requires.
class I2C:
    def __init__(self, scl, sda, *, frequency=100000, timeout=255):
        self.frequency = frequency
        self.locked = False

    def try_lock(self):
        if self.locked:
            return False
        self.locked = True
        return True

    def unlock(self):
        self.locked = False

    def writeto(self, address, buffer, *, start=0, end=None):
        self.writeto_then_readfrom(address, buffer, b"", out_start=start, out_end=end)

    def readfrom_into(self, address, buffer, *, start=0, end=None):
        self.writeto_then_readfrom(address, b"", buffer, in_start=start, in_end=end)

    def writeto_then_readfrom(self, address, buffer_out, buffer_in, *, out_start=0,
                              out_end=None, in_start=0, in_end=None):
        if not self.locked:
            raise RuntimeError("Function requires lock")
        out = memoryview(buffer_out)[out_start:out_end]
        into = memoryview(buffer_in)[in_start:in_end]
        _call(_OP_WRITE_READ if len(out) and len(into) else _OP_READ if len(into) else _OP_WRITE,
              address, len(out), len(into), out, into)


# digitalio: a pin's level is read over the wire with the pull the firmware set (a
# released button leaves its pin floating: without the pull-up it reads low).
class Pull:
    # digitalio.Direction, digitalio.Pull and microcontroller.cpu in one (a class each
    # costs heap); the chip's unique id is asked of the simulator when the link opens.
    INPUT = 0
    OUTPUT = 1
    UP = 1
    DOWN = 2
    uid = bytearray(8)


Direction = cpu = Pull


class DigitalInOut:
    def __init__(self, pin):
        pin = pin.encode()
        _call(_OP_PIN_NAME, 0, len(pin), 0, pin, _b1)
        self.n = _b1[0]
        self.direction = 0
        self.pull = None

    @property
    def value(self):
        _call(_OP_PIN, self.n, self.pull or 0, 0, None, _b1)
        return _b1[0] != 0


# usb_cdc: the data channel's bytes come from and go to the simulator's host end;
# usb_cdc.data is this module (bridge.preamble sets it; in_waiting is in __getattr__).
def read(size=1):
    _call(_OP_DATA_READ, 0, 0, size, None, _b2)
    out = bytearray(_b2[0] | _b2[1] << 8)
    _fill(out)
    return bytes(out)


def write(buf):
    _call(_OP_DATA_WRITE, 0, len(buf), 0, buf, None)
    return len(buf)


console = None
data = None
