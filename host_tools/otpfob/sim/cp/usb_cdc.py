"""Fake ``usb_cdc``: ``console`` and ``data`` serial channels over simulator links.

A link is any object with ``available()``, ``take(n)``, ``find(byte)``, ``send(data)``,
``clear()`` and ``connected``; ``BufferLink`` is the plain in-memory one. As on
CircuitPython, ``data`` is None unless boot.py called ``enable(data=True)``, and
``enable()`` outside boot.py raises RuntimeError.
"""

from otpfob.sim import cp as _cp

console = None
data = None


class _NoLock:
    def acquire(self, *args):
        return True

    def release(self):
        pass


class BufferLink:
    """Bytes the host sent (``rx``) and bytes the fob wrote (``tx``)."""

    def __init__(self, lock=None, connected=True):
        self.rx = bytearray()
        self.tx = bytearray()
        self.connected = connected
        self._lock = lock or _NoLock()

    def feed(self, b):
        self._lock.acquire()
        try:
            self.rx.extend(b)
        finally:
            self._lock.release()

    def available(self):
        return len(self.rx)

    @property
    def up(self):
        """Whether a host is on the link, for reports (reading it changes nothing)."""
        return bool(self.connected)

    def find(self, byte):
        self._lock.acquire()
        try:
            return self.rx.find(byte)
        finally:
            self._lock.release()

    def take(self, n):
        self._lock.acquire()
        try:
            out = bytes(self.rx[:n])
            self.rx[:n] = b""
        finally:
            self._lock.release()
        return out

    def clear(self):
        self.take(len(self.rx))

    def send(self, b, timeout=None):
        self._lock.acquire()
        try:
            self.tx.extend(b)
        finally:
            self._lock.release()
        return len(b)

    def drain(self):
        self._lock.acquire()
        try:
            out = bytes(self.tx)
            self.tx[:] = b""
        finally:
            self._lock.release()
        return out


class Serial:
    """``usb_cdc.Serial``. Timeouts are in the firmware's (virtual) seconds; None waits
    indefinitely and 0 does not wait, as documented for CircuitPython."""

    def __init__(self, link):
        self._link = link
        self.timeout = None
        self.write_timeout = None

    @property
    def connected(self):
        return bool(self._link.connected)

    @property
    def in_waiting(self):
        return self._link.available()

    @property
    def out_waiting(self):
        return 0

    def _wait(self, ready):
        world = _cp.hw.world
        if ready() or self.timeout == 0:
            return
        start = world.monotonic()
        while not ready():
            if self.timeout is not None and world.monotonic() - start >= self.timeout:
                return
            world.sleep(0.001)

    def read(self, size=1):
        if size is None or size < 0:
            size = self._link.available()
            return self._link.take(size)
        self._wait(lambda: self._link.available() >= size)
        return self._link.take(size)

    def readinto(self, buf):
        got = self.read(len(buf))
        buf[0 : len(got)] = got
        return len(got)

    def readline(self, size=-1):
        def ready():
            if size is not None and size >= 0 and self._link.available() >= size:
                return True
            return self._link.find(b"\n") >= 0

        self._wait(ready)
        i = self._link.find(b"\n")
        n = i + 1 if i >= 0 else self._link.available()
        if size is not None and 0 <= size < n:
            n = size
        return self._link.take(n)

    def readlines(self):
        out = []
        while True:
            line = self.readline()
            if not line:
                return out
            out.append(line)

    def write(self, buf):
        b = bytes(buf)
        # With no host on the other end the bytes go nowhere, as on a real port.
        # A link that can be full (TCP) takes the write timeout and says how many went.
        if self._link.connected:
            if self.write_timeout is None:
                self._link.send(b)
            else:
                n = self._link.send(b, self.write_timeout)
                if n is not None:
                    return n
        return len(b)

    def flush(self):
        pass

    def reset_input_buffer(self):
        self._link.clear()

    def reset_output_buffer(self):
        pass


def enable(*, console=True, data=False):
    hw = _cp.hw
    hw.usb_calls.append(("enable", {"console": console, "data": data}))
    if not hw.in_boot:
        raise RuntimeError("Cannot change USB devices now")
    hw.usb_console = bool(console)
    hw.usb_data = bool(data)


def disable():
    enable(console=False, data=False)


def _refresh():
    """Apply the enabled interfaces, as USB enumeration after boot.py does."""
    global console, data
    hw = _cp.hw
    console = Serial(hw.console_link) if hw.usb_console and hw.console_link is not None else None
    data = Serial(hw.data_link) if hw.usb_data and hw.data_link is not None else None
