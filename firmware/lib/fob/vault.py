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

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

try:
    from binascii import crc32 as _crc32
except ImportError:
    _crc32 = None

_MAGIC = b"OTPV"
_VERSION = const(1)
_HEADER = "<4sBBHI"
_HEADER_SIZE = const(12)
_RECORD = "<BBBBBII"
_RECORD_SIZE = const(13)
_CRC_SIZE = const(4)
_SLOTS = ("vault_a.bin", "vault_b.bin")
_SCRUB_CHUNK = const(256)

CAPACITY = const(200)
# Bytes of one slot file; it also bounds the RAM the loaded accounts take. 200 accounts
# with 20-byte names and secrets make a 12.5 KB file and keep 34 KB live on the 64-bit
# MicroPython unix port (tests/mpy/test_vault_protocol_mpy.py measures both).
MAX_BYTES = const(40960)
NAME_MAX = const(64)
ISSUER_MAX = const(64)
SECRET_MIN = const(2)
SECRET_MAX = const(128)
PERIOD_MAX = const(86400)
_U32_MAX = 0xFFFFFFFF

ALGORITHMS = ("SHA1", "SHA256", "SHA512", "STEAM")


class VaultError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def crc32(data, crc=0):
    """CRC-32 as zlib/binascii compute it, continued from ``crc``."""
    if _crc32 is not None:
        return _crc32(data, crc) & _U32_MAX
    return _crc32_pure(data, crc)


def _crc32_pure(data, crc=0):
    # Bitwise fallback for ports without binascii.crc32; only load/save use it.
    crc = crc ^ _U32_MAX
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xEDB88320
            else:
                crc >>= 1
    return crc ^ _U32_MAX


class Account:
    """One account, held as its on-flash record (a single bytes object).

    Seven attributes on a MicroPython instance cost about 280 bytes per account on a
    32-bit build (attribute table, three str/bytes objects); one record costs about 100,
    which is what lets 200 accounts fit the fob's heap. Fields are read back on access:
    algorithm, digits and period without allocating (they are read every second)."""

    def __init__(self, name, issuer, secret, algorithm="SHA1", digits=6, period=30,
                 created=0):
        if name is None and issuer is None:
            # From the loader: `secret` is a whole record it has already checked. Building
            # the fields again would make garbage between the records that stay, and
            # MicroPython's heap cannot compact the holes away.
            self._r = secret
            return
        nb = _check_text("name", name, NAME_MAX)
        ib = _check_text("issuer", issuer, ISSUER_MAX)
        if not nb and not ib:
            raise VaultError("bad_account", "name and issuer are both empty")
        if not isinstance(secret, (bytes, bytearray)):
            raise VaultError("bad_account", "secret must be bytes")
        n = len(secret)
        if n < SECRET_MIN or n > SECRET_MAX:
            raise VaultError("bad_account", "secret is %d bytes (must be %d to %d)"
                             % (n, SECRET_MIN, SECRET_MAX))
        if algorithm not in ALGORITHMS:
            raise VaultError("bad_account", "algorithm must be one of " + ", ".join(ALGORITHMS))
        if not _is_int(digits):
            raise VaultError("bad_account", "digits must be an integer")
        if algorithm == "STEAM":
            if digits != 5:
                raise VaultError("bad_account", "STEAM codes have 5 digits")
        elif digits < 6 or digits > 8:
            raise VaultError("bad_account", "digits must be 6 to 8")
        if not _is_int(period) or period < 1 or period > PERIOD_MAX:
            raise VaultError("bad_account", "period must be 1 to %d seconds" % PERIOD_MAX)
        if not _is_int(created) or created < 0 or created > _U32_MAX:
            raise VaultError("bad_account", "created must be an epoch time")
        self._r = (struct.pack(_RECORD, ALGORITHMS.index(algorithm), digits, len(nb), len(ib),
                               n, period, created) + nb + ib + bytes(secret))

    @property
    def algorithm(self):
        return ALGORITHMS[self._r[0]]

    @property
    def digits(self):
        return self._r[1]

    @property
    def period(self):
        r = self._r
        # At most 86400, so every shift stays a small int (no heap big int).
        return r[5] | (r[6] << 8) | (r[7] << 16)

    @property
    def created(self):
        return struct.unpack("<I", self._r[9:13])[0]

    @property
    def name(self):
        return str(self._r[_RECORD_SIZE:_RECORD_SIZE + self._r[2]], "utf-8")

    @property
    def issuer(self):
        r = self._r
        start = _RECORD_SIZE + r[2]
        return str(r[start:start + r[3]], "utf-8")

    @property
    def secret(self):
        r = self._r
        return r[_RECORD_SIZE + r[2] + r[3]:]

    def key(self):
        return _key(self._r[_RECORD_SIZE:_RECORD_SIZE + self._r[2] + self._r[3]], self._r[2])

    def label(self):
        issuer = self.issuer
        name = self.name
        if issuer and name:
            return issuer + " / " + name
        return issuer or name

    def __eq__(self, other):
        return isinstance(other, Account) and self._r == other._r

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        # Never the secret: reprs end up in logs and tracebacks.
        return "<Account %r %r %s/%d/%d>" % (self.issuer, self.name, self.algorithm,
                                             self.digits, self.period)


def _key(name_issuer, name_len):
    # Case-insensitive identity of (issuer, name). bytes.lower() folds ASCII only, on
    # CPython and MicroPython alike, so the fob and the tests agree. The name length goes
    # after the folding: as a byte it could otherwise be "lowered" itself.
    return name_issuer.lower() + bytes((name_len,))


def _lookup(accounts, keys, key):
    i = keys.get(hash(key))
    if i is None:
        return None
    if accounts[i].key() == key:
        return i
    for i, a in enumerate(accounts):
        if a.key() == key:
            return i
    return None


def _check_record(fixed, body):
    """Raise _Bad unless the record could have been written by Account()."""
    alg, digits, nlen, ilen, slen = fixed[0], fixed[1], fixed[2], fixed[3], fixed[4]
    if (alg >= len(ALGORITHMS) or nlen > NAME_MAX or ilen > ISSUER_MAX or not (nlen or ilen)
            or slen < SECRET_MIN or slen > SECRET_MAX):
        raise _Bad()
    if (digits != 5) if ALGORITHMS[alg] == "STEAM" else (digits < 6 or digits > 8):
        raise _Bad()
    # period < 2**24 keeps the shifts in small ints on 32-bit builds.
    if fixed[8] or fixed[7] > 1:
        raise _Bad()
    period = fixed[5] | (fixed[6] << 8) | (fixed[7] << 16)
    if period < 1 or period > PERIOD_MAX:
        raise _Bad()
    for i in range(nlen + ilen):
        if body[i] < 0x20 or body[i] == 0x7F:
            raise _Bad()
    str(body[:nlen], "utf-8")           # UnicodeError when not UTF-8
    str(body[nlen:nlen + ilen], "utf-8")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_text(what, text, limit):
    if not isinstance(text, str):
        raise VaultError("bad_account", what + " must be text")
    data = text.encode("utf-8")
    if len(data) > limit:
        raise VaultError("bad_account", "%s is %d bytes long (at most %d)"
                         % (what, len(data), limit))
    for b in data:
        if b < 0x20 or b == 0x7F:
            raise VaultError("bad_account", what + " contains control characters")
    return data


def validate(acc):
    """Accounts are checked when built; this only rejects what is not an Account."""
    if not isinstance(acc, Account):
        raise VaultError("bad_account", "not an account")


def record_size(acc):
    return len(acc._r)


def _total_size(accounts):
    n = _HEADER_SIZE + _CRC_SIZE
    for a in accounts:
        n += len(a._r)
    return n


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


def _join(root, name):
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


class Vault:
    def __init__(self, root="/", fs=None):
        self.root = root
        self.fs = fs if fs is not None else OsFS()
        self._paths = (_join(root, _SLOTS[0]), _join(root, _SLOTS[1]))
        self.accounts = []
        self.generation = 0
        self.capacity = CAPACITY
        self.status = "new"
        self._seq = 0
        self._slot = None
        self._used = _total_size(())

    # -- reading -----------------------------------------------------------------

    @property
    def bytes_used(self):
        return self._used

    @property
    def bytes_free(self):
        return MAX_BYTES - self._used

    def load(self):
        """Read the newest valid slot. Returns the status: 'ok', 'new' or 'damaged'."""
        best = None
        present = False
        for slot in (0, 1):
            if self.fs.size(self._paths[slot]) is not None:
                present = True
            seq = self._read_slot(slot, False)
            if seq is not None and (best is None or seq > best[0]):
                best = (seq, slot)
        accounts = None
        if best is not None:
            accounts = self._read_slot(best[1], True)
        if accounts is None:
            self.accounts = []
            self._seq = 0
            self._slot = None
            self.status = "damaged" if present else "new"
        else:
            self.accounts = accounts
            self._seq = best[0]
            self._slot = best[1]
            self.status = "ok"
        self._used = _total_size(self.accounts)
        self.generation += 1
        return self.status

    def _read_slot(self, slot, build):
        # Two passes: check both slots (every record, making only garbage), then build the
        # newest, so only one vault's worth of accounts is ever in RAM and the build pass
        # allocates little besides the records it keeps.
        try:
            f = self.fs.open(self._paths[slot], "rb")
        except OSError:
            return None
        try:
            return self._parse(f, build)
        except (_Bad, OSError, ValueError, UnicodeError, VaultError):
            return None
        finally:
            try:
                f.close()
            except OSError:
                pass

    def _parse(self, f, build):
        head = _read_exact(f, _HEADER_SIZE)
        magic, version, _flags, count, seq = struct.unpack(_HEADER, head)
        if magic != _MAGIC or version != _VERSION or count > CAPACITY:
            raise _Bad()
        crc = crc32(head)
        # The list is made at full size first, while the heap still has a hole big
        # enough: grown record by record it would need ever larger blocks amid records.
        accounts = [None] * count if build else None
        total = _HEADER_SIZE + _CRC_SIZE
        for k in range(count):
            fixed = _read_exact(f, _RECORD_SIZE)
            crc = crc32(fixed, crc)
            body = _read_exact(f, fixed[2] + fixed[3] + fixed[4])
            crc = crc32(body, crc)
            total += _RECORD_SIZE + len(body)
            if total > MAX_BYTES:
                raise _Bad()
            if build:
                accounts[k] = Account(None, None, fixed + body)
            else:
                _check_record(fixed, body)
        stored = struct.unpack("<I", _read_exact(f, _CRC_SIZE))[0]
        if stored != crc:
            raise _Bad()
        return accounts if build else seq

    def find(self, issuer, name):
        """Index of the account with this issuer and name (case-insensitive), or None."""
        nb = name.encode("utf-8")
        return _lookup(self.accounts, self._keys(), _key(nb + issuer.encode("utf-8"), len(nb)))

    def _keys(self, accounts=None):
        # Hashes (small ints) rather than the keys themselves: a few KB for 200 accounts
        # instead of a second copy of every name. _lookup settles collisions.
        keys = {}
        for i, a in enumerate(self.accounts if accounts is None else accounts):
            keys[hash(a.key())] = i
        return keys

    # -- writing -----------------------------------------------------------------

    def _write_slot(self, slot, accounts, seq):
        fs = self.fs
        try:
            f = fs.open(self._paths[slot], "wb")
        except OSError as e:
            raise VaultError("io", "cannot write the vault: %s" % _why(e)) from None
        try:
            head = struct.pack(_HEADER, _MAGIC, _VERSION, 0, len(accounts), seq)
            f.write(head)
            crc = crc32(head)
            for a in accounts:
                f.write(a._r)
                crc = crc32(a._r, crc)
            f.write(struct.pack("<I", crc))
            f.flush()
            f.close()
            f = None
            fs.sync()
        except OSError as e:
            raise VaultError("io", "cannot write the vault: %s" % _why(e)) from None
        finally:
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def _scrub(self, slot):
        # Overwrite in place before rewriting: truncating a FAT file frees its clusters
        # without erasing them, which would leave a deleted secret readable on the chip.
        path = self._paths[slot]
        size = self.fs.size(path)
        if not size:
            return
        f = self.fs.open(path, "r+b")
        try:
            zeros = bytes(_SCRUB_CHUNK)
            done = 0
            while done < size:
                n = min(_SCRUB_CHUNK, size - done)
                f.write(zeros if n == _SCRUB_CHUNK else zeros[:n])
                done += n
            f.flush()
        finally:
            f.close()
        self.fs.sync()

    def _commit(self, accounts, scrub=False):
        used = _total_size(accounts)
        if used > MAX_BYTES:
            raise VaultError("full", "the vault is full (%d bytes free, %d needed)"
                             % (MAX_BYTES - self._used, used - self._used))
        target = 0 if self._slot is None else 1 - self._slot
        seq = self._seq + 1
        self._write_slot(target, accounts, seq)
        self.accounts = accounts
        self._seq = seq
        self._slot = target
        self._used = used
        self.status = "ok"
        self.generation += 1
        if scrub:
            # The spare slot still holds what was just removed; replace it too. Failing here
            # is harmless: the new vault is already safe in `target`.
            other = 1 - target
            try:
                self._scrub(other)
                self._write_slot(other, accounts, seq + 1)
                self._seq = seq + 1
                self._slot = other
            except (OSError, VaultError):
                pass

    def _index(self, i, what="index"):
        if not _is_int(i):
            raise VaultError("bad_account", what + " must be an integer")
        if i < 0 or i >= len(self.accounts):
            raise VaultError("not_found", "no account at %s %d (there are %d)"
                             % (what, i, len(self.accounts)))
        return i

    def _place(self, accounts, keys, acc, overwrite, batch):
        # Shared by add and add_many: puts acc into `accounts` (whose key hashes map to
        # indexes in `keys`) and returns its index; `batch` is (accounts placed so far,
        # their key hashes) to catch the same account twice in one request.
        validate(acc)
        key = acc.key()
        if _lookup(batch[0], batch[1], key) is not None:
            raise VaultError("duplicate", "the same account appears twice: " + acc.label())
        batch[0].append(acc)
        batch[1][hash(key)] = len(batch[0]) - 1
        i = _lookup(accounts, keys, key)
        if i is not None:
            if not overwrite:
                raise VaultError("duplicate", "an account for %s already exists" % acc.label())
            accounts[i] = acc
            return i
        if len(accounts) >= CAPACITY:
            raise VaultError("full", "the vault is full (%d accounts)" % CAPACITY)
        accounts.append(acc)
        keys[hash(key)] = len(accounts) - 1
        return len(accounts) - 1

    def add(self, acc, overwrite=False):
        """Store ``acc``; returns its index. Replaces in place when ``overwrite``."""
        new = list(self.accounts)
        i = self._place(new, self._keys(new), acc, overwrite, ([], {}))
        self._commit(new)
        return i

    def add_many(self, accs, overwrite=False):
        """All or nothing, with one flash write; returns the list of indexes."""
        new = list(self.accounts)
        keys = self._keys(new)
        # Only small ints are kept per account while placing: long-lived small objects
        # made in a loop that also makes garbage scatter across the heap and leave no
        # hole big enough for the growing list (MicroPython's heap does not compact).
        batch = ([], {})
        out = []
        for n, acc in enumerate(accs):
            try:
                out.append(self._place(new, keys, acc, overwrite, batch))
            except VaultError as e:
                raise VaultError(e.code, "accounts[%d]: %s" % (n, e.message)) from None
        if out:
            self._commit(new)
        return out

    def delete(self, i):
        i = self._index(i)
        new = list(self.accounts)
        gone = new.pop(i)
        self._commit(new, scrub=True)
        return gone

    def rename(self, i, name, issuer=None):
        i = self._index(i)
        old = self.accounts[i]
        acc = Account(name, old.issuer if issuer is None else issuer, old.secret,
                      old.algorithm, old.digits, old.period, old.created)
        j = _lookup(self.accounts, self._keys(), acc.key())
        if j is not None and j != i:
            raise VaultError("duplicate", "an account for %s already exists" % acc.label())
        new = list(self.accounts)
        new[i] = acc
        self._commit(new)
        return acc

    def move(self, i, j):
        i = self._index(i)
        j = self._index(j, "position")
        if i == j:
            return j
        new = list(self.accounts)
        new.insert(j, new.pop(i))
        self._commit(new)
        return j

    def wipe(self):
        self._commit([], scrub=True)


_EROFS = const(30)
_ENOSPC = const(28)


def _why(e):
    # OSError text on CircuitPython is often just the errno number.
    code = e.args[0] if e.args else None
    if code == _EROFS:
        return "the drive is read-only (was a button held at plug-in?)"
    if code == _ENOSPC:
        return "no space left on the drive"
    if len(e.args) > 1:
        return str(e.args[1])
    return "I/O error %s" % (code,)
