# The accounts on flash.
#
# Two slot files hold the vault; each save goes to the slot that does NOT hold the current
# copy, and carries a sequence number one higher. A power cut while writing can only damage
# the slot being written, whose CRC then fails, so load() falls back to the other one: the
# old vault or the new one survives, never neither. No rename is needed, which matters
# because a FAT rename over an existing file is not atomic.
#
# Slot file layout (little endian):
#   header  "OTPV" | version u8 | flags u8 | count u16 | sequence u32
#   records count x ( algorithm u8 | digits u8 | name_len u8 | issuer_len u8 |
#                     secret_len u8 | period u32 | created u32 | name | issuer | secret )
#   crc     u32, CRC-32 (as zlib) of header and records
import os
import struct
from array import array

from micropython import const

try:
    from binascii import crc32 as _crc32
except ImportError:
    _crc32 = None

MAGIC = b"OTPV"
_VERSION = const(1)
HEADER = "<4sBBHI"
_HEADER_SIZE = const(12)
RECORD = "<BBBBBII"
_RECORD_SIZE = const(13)
_CRC_SIZE = const(4)
_SLOTS = ("vault_a.bin", "vault_b.bin")

CAPACITY = const(200)
# Bytes of one slot file; it also bounds the RAM the loaded accounts take (the records
# stay in one block). 200 accounts with 20-byte names and secrets make a 12.5 KB file and
# keep 13.6 KB live on the 64-bit MicroPython unix port, vault module included
# (tests/mpy/test_vault_protocol_mpy.py measures both).
MAX_BYTES = const(40960)
NAME_MAX = const(64)
ISSUER_MAX = const(64)
SECRET_MIN = const(2)
SECRET_MAX = const(128)
PERIOD_MAX = const(86400)
U32_MAX = 0xFFFFFFFF

ALGORITHMS = ("SHA1", "SHA256", "SHA512", "STEAM")
# The record's algorithm byte has this bit set for a counter-based (HOTP) account; its
# counter is kept apart (fob/counters.py), its period is unused.
HOTP = const(0x80)


class VaultError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def crc32(data, crc=0):
    """CRC-32 as zlib/binascii compute it, continued from ``crc``."""
    if _crc32 is not None:
        return _crc32(data, crc) & U32_MAX
    return _crc32_pure(data, crc)


def _crc32_pure(data, crc=0):
    # Bitwise fallback for ports without binascii.crc32; only load/save use it.
    crc = crc ^ U32_MAX
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xEDB88320
            else:
                crc >>= 1
    return crc ^ U32_MAX


class Account:
    """One account, held as its on-flash record (a single bytes object).

    Seven attributes on a MicroPython instance cost about 280 bytes per account on a
    32-bit build (attribute table, three str/bytes objects); one record costs about 100,
    which is what lets 200 accounts fit the fob's heap. The vault keeps only the records
    and makes an Account around one when it is asked for (Vault.accounts). Fields are read
    back on access: algorithm, digits and period without allocating (they are read every
    second)."""

    def __init__(self, name, issuer, secret, algorithm="SHA1", digits=6, period=30,
                 created=0, hotp=False):
        if name is None and issuer is None:
            # From the loader: `secret` is a whole record it has already checked. Building
            # the fields again would make garbage between the records that stay, and
            # MicroPython's heap cannot compact the holes away.
            self.raw = secret
            return
        self.raw = _edit().record(VaultError, name, issuer, secret, algorithm, digits,
                                  period, created, hotp)

    @property
    def algorithm(self):
        return ALGORITHMS[self.raw[0] & ~HOTP]

    @property
    def hotp(self):
        return bool(self.raw[0] & HOTP)

    @property
    def digits(self):
        return self.raw[1]

    @property
    def period(self):
        r = self.raw
        # At most 86400, so every shift stays a small int (no heap big int).
        return r[5] | (r[6] << 8) | (r[7] << 16)

    @property
    def created(self):
        return struct.unpack("<I", self.raw[9:13])[0]

    @property
    def name(self):
        return str(self.raw[_RECORD_SIZE:_RECORD_SIZE + self.raw[2]], "utf-8")

    @property
    def issuer(self):
        r = self.raw
        start = _RECORD_SIZE + r[2]
        return str(r[start:start + r[3]], "utf-8")

    @property
    def secret(self):
        r = self.raw
        return r[_RECORD_SIZE + r[2] + r[3]:]

    def key(self):
        return record_key(self.raw)

    def label(self):
        issuer = self.issuer
        name = self.name
        if issuer and name:
            return issuer + " / " + name
        return issuer or name

    def __eq__(self, other):
        return isinstance(other, Account) and self.raw == other.raw

    def __repr__(self):
        # Never the secret: reprs end up in logs and tracebacks.
        return "<Account %r %r %s/%d/%s>" % (self.issuer, self.name, self.algorithm,
                                             self.digits, "hotp" if self.hotp else self.period)


def key_of(name_issuer, name_len):
    # Case-insensitive identity of (issuer, name). bytes.lower() folds ASCII only, on
    # CPython and MicroPython alike, so the fob and the tests agree. The name length goes
    # after the folding: as a byte it could otherwise be "lowered" itself. bytes() first:
    # a staged record is a slice of a bytearray, which has no lower() on CircuitPython 8.
    return bytes(name_issuer).lower() + bytes((name_len,))


# The most accounts one add_many batch holds (staged in RAM until its commit): 200 staged
# left CircuitPython 10.2.1 with 17 KB free at best and ran out of memory at times on the
# last part; hosts split larger imports into batches (hello's limits.batch_max).
BATCH_MAX = 100


def key_hash(key):
    """A small int for a key (issuer and name), the same on every port: CRC-32 in C.
    With hash() instead, staging 13 accounts of an import on CircuitPython 10.2.1 took
    0.3 s at the first part and 2.8 s at the 14th (each staged account was compared with
    all those before it, as when keys share a bucket)."""
    return crc32(key) & 0x3FFFFFFF


def record_key(r, o=0):
    n = r[o + 2]
    return key_of(r[o + _RECORD_SIZE:o + _RECORD_SIZE + n + r[o + 3]], n)


# Records go in chunks of at most this many bytes: no block so big that a fragmented heap
# has no hole for it (CircuitPython 8.2.6 ran out of memory reading a 200-account vault
# back in one piece with 34 KB free, and later with 47 KB free on a 1.3 KB dict: its free
# heap was in holes of under a kilobyte), few enough objects to cost little.
_CHUNK = const(512)
# Records per array of the index (_Records.where): 2 x 64 halfwords, 256 bytes, so the
# index of 200 accounts is no single block either.
_WHERE_SHIFT = const(6)
_WHERE_MASK = const(63)


class _Records:
    """All records, packed into chunks of at most _CHUNK bytes, and per record its chunk
    and its start there. A record is never changed once placed; a change's new records
    share the chunks of the old ones and of a staged batch (fob/vault_edit.py), and the
    bytes of a record no account has any more are zeroed.

    One bytes object per account costs its header and rounding on top of the record (about
    half again for a typical record); packed records save that many times over."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.chunks = []
        # Arrays of 64 accounts each: per account its chunk, then its start in that chunk.
        self.where = []
        self.n = 0  # accounts
        self.size = 0  # bytes of all records
        self.fill = 0  # bytes used of the last chunk

    def __len__(self):
        return self.n

    def locate(self, j):
        """(index in chunks, start, end) of record ``j``."""
        w = self.where[j >> _WHERE_SHIFT]
        k = (j & _WHERE_MASK) << 1
        ci = w[k]
        c = self.chunks[ci]
        a = w[k + 1]
        return ci, a, a + _RECORD_SIZE + c[a + 2] + c[a + 3] + c[a + 4]

    def span(self, j):
        """(chunk, start, end) of record ``j``."""
        ci, a, b = self.locate(j)
        return self.chunks[ci], a, b

    def drop_unused(self):
        """Leaves out (so frees) the chunks that hold no record of this index."""
        chunks = self.chunks
        used = bytearray(len(chunks))
        n = 0
        for w in self.where:
            for k in range(0, len(w), 2):
                if not used[w[k]]:
                    used[w[k]] = 1
                    n += 1
        if n == len(chunks):
            return
        new = [0] * len(chunks)  # old chunk index -> new
        kept = []
        for ci in range(len(chunks)):
            if used[ci]:
                new[ci] = len(kept)
                kept.append(chunks[ci])
        self.chunks = kept
        for w in self.where:
            for k in range(0, len(w), 2):
                w[k] = new[w[k]]

    def record(self, i):
        c, a, b = self.span(i)
        return bytes(c[a:b])

    def note(self, ci, at, size):
        """Index the next record: ``size`` bytes at ``at`` in chunks[ci]."""
        if not self.n & _WHERE_MASK:
            self.where.append(array("H"))
        w = self.where[-1]
        w.append(ci)
        w.append(at)
        self.n += 1
        self.size += size

    def place(self, size, room):
        """Where the next record of ``size`` bytes goes, (chunk, start): a new chunk of
        ``room`` bytes (at least ``size``) when the last one has no room left."""
        chunks = self.chunks
        if not chunks or self.fill + size > len(chunks[-1]):
            chunks.append(bytearray(room))
            self.fill = 0
        at = self.fill
        self.note(len(chunks) - 1, at, size)
        self.fill = at + size
        return chunks[-1], at


class Batch(_Records):
    """Accounts held for a later ``add_many`` (a staged import), as packed records.

    An Account object with its own bytes record per staged account cost 11 KB more heap
    for 200 accounts on a 32-bit build (bench.board_heap) than records packed into shared
    chunks with 4 bytes of index each. Reads make Account views, as Vault.accounts does."""

    def append(self, acc):
        validate(acc)
        r = acc.raw
        # Each chunk is made whole at once, never grown: a chunk grown record by record
        # left a freed block behind at every step, between chunks that stay, and 10.2.1
        # ran out of memory staging the last parts of a 200-account import.
        c, at = self.place(len(r), _CHUNK)
        c[at:at + len(r)] = r

    def __getitem__(self, i):
        n = len(self)
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError("account index out of range")
        return Account(None, None, self.record(i))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class _Accounts:
    """Vault.accounts: a read-only sequence of Account, each made when it is read.

    An Account instance costs more heap than its record, so the vault holds the records
    alone; a caller that keeps an account (the UI keeps the shown one) keeps that one."""

    def __init__(self, recs):
        self.recs = recs

    def __len__(self):
        return len(self.recs)

    def __getitem__(self, i):
        n = len(self.recs)
        if isinstance(i, slice):
            return list(self)[i]
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError("account index out of range")
        return Account(None, None, self.recs.record(i))

    def __eq__(self, other):
        return list(self) == list(other)


def _check_record(fixed, body):
    """Raise _Bad unless the record could have been written by Account()."""
    alg, digits, nlen, ilen, slen = fixed[0] & ~HOTP, fixed[1], fixed[2], fixed[3], fixed[4]
    if (alg >= len(ALGORITHMS) or nlen > NAME_MAX or ilen > ISSUER_MAX or not (nlen or ilen)
            or slen < SECRET_MIN or slen > SECRET_MAX
            or (fixed[0] & HOTP and ALGORITHMS[alg] == "STEAM")):
        raise _Bad()
    if (digits != 5) if ALGORITHMS[alg] == "STEAM" else (digits < 6 or digits > 8):
        raise _Bad()
    # period < 2**24 keeps the shifts in small ints on 32-bit builds.
    if fixed[8] or fixed[7] > 1:
        raise _Bad()
    period = fixed[5] | (fixed[6] << 8) | (fixed[7] << 16)
    if period < 1 or period > PERIOD_MAX:
        raise _Bad()
    # min() and `in` run in C: a loop over every byte here was most of a boot's vault read.
    # bytes(): `in` is not implemented for a memoryview on MicroPython.
    text = bytes(body[:nlen + ilen])
    if text and (min(text) < 0x20 or 0x7F in text):
        raise _Bad()
    str(body[:nlen], "utf-8")           # UnicodeError when not UTF-8
    str(body[nlen:nlen + ilen], "utf-8")


def validate(acc):
    """Accounts are checked when built; this only rejects what is not an Account."""
    if not isinstance(acc, Account):
        raise VaultError("bad_account", "not an account")


def record_size(acc):
    return len(acc.raw)


class _Bad(Exception):
    pass


class OsFS:
    """The file layer over the real filesystem; tests swap in one that can fail."""

    def open(self, path, mode):
        return open(path, mode)

    def size(self, path):
        try:
            return os.stat(path)[6]
        except OSError:
            return None

    def sync(self):
        # CircuitPython and MicroPython flush FAT caches on close; os.sync() also pushes
        # the flash cache out where it exists.
        if hasattr(os, "sync"):
            os.sync()


def join(root, name):
    if not root:
        return name
    if root.endswith("/"):
        return root + name
    return root + "/" + name


def _read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) != n:
        raise _Bad()
    return data


def _read_into(f, view):
    n = len(view)
    if hasattr(f, "readinto"):
        got = f.readinto(view)
    else:
        data = f.read(n) or b""
        got = len(data)
        view[:got] = data
    if got != n:
        raise _Bad()


class Vault:
    def __init__(self, root="/", fs=None):
        self.root = root
        self.fs = fs if fs is not None else OsFS()
        self.paths = (join(root, _SLOTS[0]), join(root, _SLOTS[1]))
        self.recs = _Records()
        self.generation = 0
        self.capacity = CAPACITY
        self.status = "new"
        self.seq = 0
        self.slot = None
        self.used = _HEADER_SIZE + _CRC_SIZE
        self._counters = None
        # True while a change is being written a step a loop pass (fob/vault_edit.py):
        # nothing else may change the vault, its counters or its strips until it is done.
        self.busy = False

    # -- reading -----------------------------------------------------------------

    @property
    def accounts(self):
        return _Accounts(self.recs)

    @property
    def bytes_used(self):
        return self.used

    @property
    def bytes_free(self):
        return MAX_BYTES - self.used

    def load(self):
        """Read the newest valid slot. Returns the status: 'ok', 'new' or 'damaged'."""
        best = None
        present = False
        # Newest first by the headers' sequence numbers: checking every record of the
        # other slot too doubled a boot's vault read (each wake from deep sleep is a boot).
        order = []
        for slot in (0, 1):
            if self.fs.size(self.paths[slot]) is not None:
                present = True
                order.append((self._sequence(slot), slot))
        order.sort(reverse=True)
        for _, slot in order:
            found = self.read_slot(slot, None)
            if found is not None:
                best = (found[0], slot, found[1])
                break
        recs = None
        if best is not None:
            recs = self.read_slot(best[1], best[2])
        if recs is None:
            self.recs = _Records()
            self.seq = 0
            self.slot = None
            self.status = "damaged" if present else "new"
        else:
            self.recs = recs
            self.seq = best[0]
            self.slot = best[1]
            self.status = "ok"
        self.used = _HEADER_SIZE + _CRC_SIZE + self.recs.size
        self.generation += 1
        return self.status

    def _sequence(self, slot):
        # The header's sequence number, unchecked (-1 when unreadable): only an order in
        # which to check the slots.
        try:
            f = self.fs.open(self.paths[slot], "rb")
        except OSError:
            return -1
        try:
            return struct.unpack(HEADER, _read_exact(f, _HEADER_SIZE))[4]
        except (_Bad, OSError, ValueError):
            return -1
        finally:
            try:
                f.close()
            except OSError:
                pass

    def read_slot(self, slot, body):
        # Two passes: check a slot (every record, making only garbage; gives the sequence
        # number and the records' length), then read the newest valid one's records in one
        # piece (`body` bytes), so only one vault's worth is ever in RAM.
        try:
            f = self.fs.open(self.paths[slot], "rb")
        except OSError:
            return None
        try:
            return self._parse(f, body)
        except (_Bad, OSError, ValueError, UnicodeError, VaultError):
            return None
        finally:
            try:
                f.close()
            except OSError:
                pass

    def _parse(self, f, body):
        head = _read_exact(f, _HEADER_SIZE)
        magic, version, _flags, count, seq = struct.unpack(HEADER, head)
        if magic != MAGIC or version != _VERSION or count > CAPACITY:
            raise _Bad()
        crc = crc32(head)
        if body is not None:
            # Record by record into chunks (_Records): a fragmented heap may have no hole
            # for the whole vault in one piece.
            recs = _Records()
            fixed = bytearray(_RECORD_SIZE)
            for _ in range(count):
                _read_into(f, fixed)
                size = _RECORD_SIZE + fixed[2] + fixed[3] + fixed[4]
                left = body - recs.size
                if size > left:
                    raise _Bad()
                c, at = recs.place(size, min(_CHUNK, left))
                view = memoryview(c)
                view[at:at + _RECORD_SIZE] = fixed
                _read_into(f, view[at + _RECORD_SIZE:at + size])
                crc = crc32(view[at:at + size], crc)
            if recs.size != body:
                raise _Bad()
        else:
            # One buffer for every record (the largest one fits): reading each record into
            # new bytes objects left kilobytes of garbage per slot on a 200-account fob.
            total = 0
            buf = bytearray(_RECORD_SIZE + NAME_MAX + ISSUER_MAX + SECRET_MAX)
            view = memoryview(buf)
            fixed = view[:_RECORD_SIZE]
            for _ in range(count):
                _read_into(f, fixed)
                n = buf[2] + buf[3] + buf[4]
                if _RECORD_SIZE + n > len(buf):
                    raise _Bad()
                rest = view[_RECORD_SIZE:_RECORD_SIZE + n]
                _read_into(f, rest)
                crc = crc32(view[:_RECORD_SIZE + n], crc)
                total += _RECORD_SIZE + n
                if total > MAX_BYTES - _HEADER_SIZE - _CRC_SIZE:
                    raise _Bad()
                _check_record(fixed, rest)
        stored = struct.unpack("<I", _read_exact(f, _CRC_SIZE))[0]
        if stored != crc:
            raise _Bad()
        return recs if body is not None else (seq, total)

    def counters(self):
        """The HOTP counters (fob/counters.py), one object for every user of the vault,
        loaded at the first use."""
        if self._counters is None:
            from fob.counters import Counters

            self._counters = Counters(self.root, self.fs)
        return self._counters

    # -- changing (fob/vault_edit.py, imported on use) ------------------------------

    def find(self, issuer, name):
        """Index of the account with this issuer and name (case-insensitive), or None."""
        return _edit().find(self, issuer, name)

    def add(self, acc, overwrite=False):
        """Store ``acc``; returns its index. Replaces in place when ``overwrite``."""
        return _edit().add(self, acc, overwrite)

    def add_many(self, accs, overwrite=False):
        """All or nothing, with one flash write; returns the list of indexes."""
        return _edit().add_many(self, accs, overwrite)

    def steps(self, change, *args):
        """A change ("add", "add_many", "delete", "rename", "move", "wipe") as a generator
        of steps short enough for one loop pass each (fob/wire.py's WORK); it returns what
        the method of that name returns."""
        return getattr(_edit(), change + "_steps")(self, *args)

    def delete(self, i):
        return _edit().delete(self, i)

    def rename(self, i, name, issuer=None):
        return _edit().rename(self, i, name, issuer)

    def move(self, i, j):
        return _edit().move(self, i, j)

    def wipe(self):
        _edit().wipe(self)


def _edit():
    from fob import vault_edit

    return vault_edit


class _Names:
    """What fob/vault_edit.py takes from the module its Vault belongs to (see there)."""


_Names.Account = Account
_Names.VaultError = VaultError
_Names.validate = validate
_Names.Batch = Batch
Vault.M = _Names
