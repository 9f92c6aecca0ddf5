"""An emulated I2C bus and a ``busio.I2C`` work-alike over it.

Devices on the bus implement ``i2c_write(data, stop=True)`` (one write transaction:
the bytes after the address byte) and ``i2c_read(n)`` (one read transaction). A write
followed by a repeated start and a read is ``i2c_write(out, stop=False)`` then
``i2c_read(n)``.

The ``I2C`` class follows CircuitPython's ``busio.I2C``: the bus must be locked with
``try_lock()`` before a transfer (CircuitPython raises otherwise), and an address no
device answers raises ``OSError`` with errno 19 (ENODEV), as CircuitPython does on a NACK.
``Bus.set_fault`` makes an attached device stop acknowledging, for good or for a few
transactions, like a loose wire or noise.
"""

ENODEV = 19


class _NoLock:
    def acquire(self, *args):
        return True

    def release(self):
        pass


class Bus:
    """Devices by 7-bit address. ``lock`` serialises transactions against other threads."""

    def __init__(self, lock=None):
        self.devices = {}
        self.lock = lock or _NoLock()
        # Faults by address: True while a device does not acknowledge at all (a loose
        # wire), or a count of transactions still to fail (a glitch on the bus).
        self.faults = {}

    def set_fault(self, address, fault):
        """``True``: the device stops acknowledging; ``False``: it answers again; an int
        ``n``: its next ``n`` transactions fail, then it answers as before."""
        if fault is False or fault == 0:
            self.faults.pop(address, None)
        else:
            self.faults[address] = fault

    def attach(self, address, device):
        if not 0 <= address <= 0x7F:
            raise ValueError("I2C address out of range: %r" % (address,))
        if address in self.devices:
            raise ValueError("I2C address 0x%02x already taken" % address)
        self.devices[address] = device
        return device

    def detach(self, address):
        return self.devices.pop(address, None)

    def device(self, address):
        dev = self.devices.get(address)
        if dev is None or (self.faults and self._faulty(address)):
            raise OSError(ENODEV, "No such device")
        return dev

    def _faulty(self, address):
        fault = self.faults.get(address)
        if fault is None:
            return False
        if fault is not True:
            # A glitch: this transaction fails, and counts down to the device's return.
            if fault <= 1:
                del self.faults[address]
            else:
                self.faults[address] = fault - 1
        return True

    def write(self, address, data, stop=True):
        dev = self.device(address)
        self.lock.acquire()
        try:
            dev.i2c_write(data, stop)
        finally:
            self.lock.release()

    def read(self, address, n):
        dev = self.device(address)
        self.lock.acquire()
        try:
            data = dev.i2c_read(n)
        finally:
            self.lock.release()
        return data

    def write_then_read(self, address, data, n):
        dev = self.device(address)
        self.lock.acquire()
        try:
            dev.i2c_write(data, False)
            data = dev.i2c_read(n)
        finally:
            self.lock.release()
        return data


class I2C:
    """``busio.I2C`` over a ``Bus``: what adafruit_bus_device.I2CDevice calls."""

    def __init__(self, bus, frequency=100000, timeout=255):
        self._bus = bus
        self.frequency = frequency
        self.timeout = timeout
        self._locked = False
        self._deinited = False

    def _check(self, need_lock=True):
        if self._deinited:
            raise ValueError(
                "Object has been deinitialized and can no longer be used. Create a new object."
            )
        if need_lock and not self._locked:
            raise RuntimeError("Function requires lock")

    def try_lock(self):
        self._check(False)
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._check(False)
        self._locked = False

    def scan(self):
        self._check()
        return sorted(a for a in self._bus.devices if self._bus.faults.get(a) is not True)

    def writeto(self, address, buffer, *, start=0, end=None):
        self._check()
        if end is None:
            end = len(buffer)
        self._bus.write(address, bytes(buffer[start:end]))

    def readfrom_into(self, address, buffer, *, start=0, end=None):
        self._check()
        if end is None:
            end = len(buffer)
        data = self._bus.read(address, end - start)
        buffer[start:end] = data

    def writeto_then_readfrom(
        self, address, buffer_out, buffer_in, *, out_start=0, out_end=None, in_start=0, in_end=None
    ):
        self._check()
        if out_end is None:
            out_end = len(buffer_out)
        if in_end is None:
            in_end = len(buffer_in)
        # Copy before reading: drivers pass the same buffer for both directions.
        out = bytes(buffer_out[out_start:out_end])
        data = self._bus.write_then_read(address, out, in_end - in_start)
        buffer_in[in_start:in_end] = data

    def deinit(self):
        self._deinited = True
        self._locked = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
        return False
