"""Fake ``microcontroller``: cpu (uid stable per state folder), nvm kept in the state
folder, reset() restarting the simulated board."""

from otpfob.sim import cp as _cp


class _Cpu:
    frequency = 125000000
    temperature = 27.0
    voltage = 3.3

    @property
    def uid(self):
        return bytearray(_cp.hw.uid)


cpu = _Cpu()
cpus = (cpu,)


class _Nvm:
    """Byte-addressable non-volatile memory; every write goes to the state folder."""

    def __init__(self, size, path=None):
        # Read on first use: on a board nvm is flash, not heap, and the simulator shares
        # the firmware's heap under MicroPython, so a fob that never touches nvm pays nothing.
        self._size = size
        self._buf = None
        self._path = path

    def _data(self):
        if self._buf is None:
            buf = bytearray(b"\xff" * self._size)
            if self._path is not None:
                try:
                    with open(self._path, "rb") as f:
                        stored = f.read()
                    buf[0 : len(stored)] = stored[: self._size]
                except OSError:
                    pass
            self._buf = buf
        return self._buf

    def __len__(self):
        return self._size

    def __getitem__(self, i):
        v = self._data()[i]
        return bytearray(v) if isinstance(i, slice) else v

    def __setitem__(self, i, v):
        buf = self._data()
        if isinstance(i, slice):
            start, stop, step = (
                i.indices(len(buf))
                if hasattr(i, "indices")
                else (i.start or 0, len(buf) if i.stop is None else i.stop, 1)
            )
            if step != 1 or len(v) != stop - start:
                raise ValueError("Slice and value different lengths.")
            buf[start:stop] = v
        else:
            buf[i] = v
        self._save()

    def _save(self):
        if self._path is None:
            return
        tmp = self._path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(self._buf)
        import os

        os.rename(tmp, self._path)


nvm = None


def _load_nvm():
    global nvm, watchdog
    nvm = _Nvm(_cp.hw.nvm_size, _cp.hw.nvm_path)
    watchdog = _WatchDog()  # stopped at every start, as the board's is after a reset
    _cp.hw.watchdog = watchdog  # the fake alarm's sleeps check it


class _WatchDog:
    """``microcontroller.watchdog``: records its settings and every feed (the simulator
    does not reset a fob that stops feeding it; tests read ``feeds``)."""

    # RP2040 builds reject a timeout above 8 s (the hardware's 8.39 s, rounded down).
    MAX_TIMEOUT = 8

    def __init__(self):
        self._timeout = None
        self.mode = None
        self.feeds = 0
        self.fed_at = None

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, value):
        if value > self.MAX_TIMEOUT:
            raise ValueError("timeout must be <= %d" % self.MAX_TIMEOUT)
        self._timeout = value

    def feed(self):
        if self.mode is None:
            raise ValueError("WatchDogTimer is not active")
        self.feeds += 1
        self.fed_at = _cp.hw.world.monotonic()

    def deinit(self):
        self.mode = None


watchdog = _WatchDog()


class RunMode:
    NORMAL = "NORMAL"
    SAFE_MODE = "SAFE_MODE"
    BOOTLOADER = "BOOTLOADER"
    UF2 = "UF2"


class Pin:
    pass


def reset():
    _cp.hw.reset_calls.append(("reset", None))
    raise _cp.ResetRequested()


def on_next_reset(run_mode):
    _cp.hw.reset_calls.append(("on_next_reset", run_mode))


def delay_us(delay):
    _cp.hw.world.sleep(delay / 1000000)


def disable_interrupts():
    pass


def enable_interrupts():
    pass
