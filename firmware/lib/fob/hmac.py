# HMAC (RFC 2104) over whatever hash the board offers.
#
# CircuitPython's hashlib has only hashlib.new(name) with update()/digest() (no copy(), no
# hmac module), MicroPython's has hashlib.sha1() style constructors, and many boards have
# no hashlib or lack an algorithm (RP2040 before CircuitPython 9, sha256 before 10.1,
# sha512 never).  Missing algorithms fall back to the pure compressions in sha1/sha256/
# sha512, with the key's inner and outer states computed once per key so that a short
# message costs two compressions instead of four.

import sys

try:
    import hashlib as _hashlib
except ImportError:
    _hashlib = None

# Small ints hold 62 bits where sys.maxsize passes 2**32 (64-bit ports): SHA-1 can work on
# whole words there (sha1_wide), over twice as fast as on 16-bit halves.  Shifted rather
# than compared with 2**32, which is itself a big int (or an error) on a 32-bit board.
WIDE = (getattr(sys, "maxsize", 0) >> 32) > 0

NAMES = ("sha1", "sha256", "sha512")
# The modules of the pure compressions (fob.<name>), imported by pure_module() on use.
PURE_MODULES = ("sha1", "sha1_wide", "sha256", "sha512")
# (block size, digest size) of each, as in the pure modules (tests check they agree).
SIZES = {"sha1": (64, 20), "sha256": (64, 32), "sha512": (128, 64)}

_native = {}


def pure_module(name):
    """The pure compression module for hash ``name``, imported on first use so that a
    board only holds the compressions it needs (and only one of the two SHA-1s)."""
    if name == "sha1":
        if WIDE:
            from fob import sha1_wide as mod
        else:
            from fob import sha1 as mod
    elif name == "sha256":
        from fob import sha256 as mod
    elif name == "sha512":
        from fob import sha512 as mod
    else:
        raise ValueError("unknown hash algorithm %r (use sha1, sha256 or sha512)" % (name,))
    return mod


def native(name):
    """The board's constructor for hash ``name`` (called with no argument), or None."""
    if name in _native:
        return _native[name]
    ctor = None
    lib = _hashlib
    if lib is not None and name in NAMES:
        direct = getattr(lib, name, None)
        if direct is not None:
            try:
                direct()
                ctor = direct
            except (ValueError, OSError):
                pass
        if ctor is None:
            new = getattr(lib, "new", None)
            if new is not None:
                try:
                    new(name)

                    def ctor():
                        return new(name)
                except (ValueError, OSError):
                    pass
    _native[name] = ctor
    return ctor


def _pad_block(block, n, total):
    """Zero ``block`` from byte ``n`` on and end it with the bit length of a ``total``-byte
    message (the caller has placed the 0x80 marker and checked the field fits)."""
    for i in range(n, len(block)):
        block[i] = 0
    # Big-endian bit length built from the byte count, so it stays a small int as long
    # as the byte count does.
    i = len(block) - 1
    block[i] = (total << 3) & 0xFF
    total >>= 5
    while total:
        i -= 1
        block[i] = total & 0xFF
        total >>= 8


def _length_bytes(mod):
    return 8 if mod.BLOCK_SIZE == 64 else 16


def _absorb(mod, state, data, prior, block):
    """Hash ``data`` into ``state`` (already holding ``prior`` bytes) and finish it."""
    compress = mod.compress
    size = mod.BLOCK_SIZE
    n = len(data)
    off = 0
    while n - off >= size:
        compress(state, data, off)
        off += size
    rem = n - off
    for i in range(rem):
        block[i] = data[off + i]
    block[rem] = 0x80
    if rem + 1 + _length_bytes(mod) > size:
        # No room left for the length: it goes in one more block.
        for i in range(rem + 1, size):
            block[i] = 0
        compress(state, block, 0)
        _pad_block(block, 0, prior + n)
    else:
        _pad_block(block, rem + 1, prior + n)
    compress(state, block, 0)


def _state_bytes(mod, state, out):
    # Big-endian digest bytes from the state's limbs (16-bit halves, or whole 32-bit
    # words in sha1_wide).
    nbytes = mod.DIGEST_SIZE // len(mod.IV)
    i = 0
    for limb in state:
        shift = 8 * nbytes
        while shift:
            shift -= 8
            out[i] = (limb >> shift) & 0xFF
            i += 1


def pure_digest(name, data):
    """Hash ``data`` with the pure-Python compression for ``name`` (no native hashlib)."""
    mod = pure_module(name)
    state = list(mod.IV)
    block = bytearray(mod.BLOCK_SIZE)
    _absorb(mod, state, data, 0, block)
    out = bytearray(mod.DIGEST_SIZE)
    _state_bytes(mod, state, out)
    return bytes(out)


def digest(name, data):
    """Hash ``data`` with ``name``, natively when the board can."""
    ctor = native(name)
    if ctor is None:
        return pure_digest(name, data)
    h = ctor()
    h.update(data)
    return h.digest()


class HMAC:
    """HMAC with one key; ``digest(msg)`` can be called any number of times."""

    def __init__(self, key, name="sha1", allow_native=True):
        ctor = native(name) if allow_native else None
        if ctor is not None:
            # The pure module is not imported where the board hashes natively: compiling
            # fob/sha1.py alone costs a .py deployment a quarter second at every wake.
            mod = None
            size, self.digest_size = SIZES[name]
        else:
            mod = pure_module(name)
            size = mod.BLOCK_SIZE
            self.digest_size = mod.DIGEST_SIZE
        self.name = name
        self.block_size = size
        self._ctor = ctor
        if len(key) > size:
            key = digest(name, key) if ctor is not None else pure_digest(name, key)
        ipad = bytearray(size)
        opad = bytearray(size)
        for i in range(size):
            k = key[i] if i < len(key) else 0
            ipad[i] = k ^ 0x36
            opad[i] = k ^ 0x5C
        if ctor is not None:
            self._ipad = ipad
            self._opad = opad
            self._msg = bytearray(8)
            return
        self._mod = mod
        self._compress = mod.compress
        istate = list(mod.IV)
        mod.compress(istate, ipad, 0)
        ostate = list(mod.IV)
        mod.compress(ostate, opad, 0)
        self._istate = istate
        self._ostate = ostate
        self._work = list(mod.IV)
        self._block = ipad
        # The outer message is always one digest long, so its padding is laid out once
        # and only the digest bytes change per message.
        self._outer = opad
        opad[mod.DIGEST_SIZE] = 0x80
        _pad_block(opad, mod.DIGEST_SIZE + 1, size + mod.DIGEST_SIZE)
        self._out = bytearray(mod.DIGEST_SIZE)
        self._inner_len = -1

    @property
    def uses_native(self):
        return self._ctor is not None

    def digest(self, msg):
        """HMAC of ``msg`` as bytes."""
        return bytes(self.digest_buffer(msg))

    def _native_digest(self, msg):
        ctor = self._ctor
        h = ctor()
        h.update(self._ipad)
        h.update(msg)
        inner = h.digest()
        h = ctor()
        h.update(self._opad)
        h.update(inner)
        return h.digest()

    def _pad_inner(self, n):
        # An n-byte message fits in the key block's successor with its padding, which
        # stays in place for every later message of the same length.
        block = self._block
        block[n] = 0x80
        _pad_block(block, n + 1, self.block_size + n)
        self._inner_len = n

    def _finish(self):
        # The inner compression writes its digest straight into the outer block, whose
        # padding never changes; both start from the key's states without copying them.
        compress = self._compress
        out = self._out
        compress(self._istate, self._block, 0, self._outer)
        compress(self._ostate, self._outer, 0, out)
        return out

    def digest_buffer(self, msg):
        """HMAC of ``msg``; the pure path returns an internal buffer that the next call
        overwrites (saves an allocation in the once-a-period code path)."""
        if self._ctor is not None:
            return self._native_digest(msg)
        n = len(msg)
        block = self._block
        if n != self._inner_len:
            if n + 1 + _length_bytes(self._mod) > self.block_size:
                return self._long_digest(msg)
            self._pad_inner(n)
        for i in range(n):
            block[i] = msg[i]
        return self._finish()

    def _long_digest(self, msg):
        self._inner_len = -1
        work = self._work
        src = self._istate
        for i in range(len(work)):
            work[i] = src[i]
        _absorb(self._mod, work, msg, self.block_size, self._block)
        _state_bytes(self._mod, work, self._outer)
        out = self._out
        self._compress(self._ostate, self._outer, 0, out)
        return out

    def digest_counter(self, counter):
        """HMAC of ``counter`` (0 <= counter < 2**64) as 8 big-endian bytes, HOTP's
        message; returns a buffer like ``digest_buffer``."""
        if self._ctor is not None:
            block = self._msg
        else:
            if self._inner_len != 8:
                self._pad_inner(8)
            block = self._block
        if counter < 0x40000000:
            # Every 30-second TOTP counter before the year 2990: a small int on any
            # port (no big-int arithmetic on a 32-bit board), written out directly.
            block[0] = block[1] = block[2] = block[3] = 0
            block[4] = counter >> 24
            block[5] = (counter >> 16) & 0xFF
            block[6] = (counter >> 8) & 0xFF
            block[7] = counter & 0xFF
        else:
            for i in range(7, -1, -1):
                block[i] = counter & 0xFF
                counter >>= 8
            if counter:
                raise ValueError("counter does not fit in 8 bytes")
        if self._ctor is not None:
            return self._native_digest(block)
        return self._finish()
