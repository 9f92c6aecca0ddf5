# Changing the vault: checking new accounts, placing them, writing a slot. Only a host's
# request changes the vault, so this is imported then (fob.vault's Vault methods and
# Account() import it on use) rather than kept in RAM while the fob shows codes.
#
# The slot layout and the two-slot scheme are described in fob/vault.py. Account,
# VaultError and validate() come from the caller (`v.M`, the fob.vault module the Vault
# belongs to, or the `E` passed to record()), not from an import here: the simulator
# loads the firmware afresh on each start, and an error or account of one load must stay
# an instance of that load's classes.
import struct
from array import array

from fob import heap
from fob.wire import run_steps
from fob.vault import (HEADER, MAGIC, RECORD, U32_MAX, ALGORITHMS, CAPACITY, HOTP, ISSUER_MAX,
                       MAX_BYTES, NAME_MAX, PERIOD_MAX, SECRET_MAX, SECRET_MIN, key_of, record_key,
                       crc32, key_hash)

from micropython import const

# Also in fob/vault.py: a const() name is private to its module on MicroPython.
_VERSION = const(1)
_HEADER_SIZE = const(12)
_CRC_SIZE = const(4)
_CHUNK = const(512)
_SCRUB_CHUNK = const(256)
# A long change is made in steps, one a pass of the fob's loop, so no pass comes near the
# watchdog (fob/wire.py's WORK): records written, accounts placed, or scrub chunks per step.
_STEP_RECORDS = const(20)
_STEP_SCRUB = const(16)
# Items per piece of a draft (_Draft).
_PIECE = const(32)


def record(E, name, issuer, secret, algorithm, digits, period, created, hotp=False):
    """The on-flash record of a new account, after checking every field."""
    nb = _check_text(E, "name", name, NAME_MAX)
    ib = _check_text(E, "issuer", issuer, ISSUER_MAX)
    if not nb and not ib:
        raise E("bad_account", "name and issuer are both empty")
    if not isinstance(secret, (bytes, bytearray)):
        raise E("bad_account", "secret must be bytes")
    n = len(secret)
    if n < SECRET_MIN or n > SECRET_MAX:
        raise E("bad_account", "secret is %d bytes (must be %d to %d)"
                         % (n, SECRET_MIN, SECRET_MAX))
    if algorithm not in ALGORITHMS:
        raise E("bad_account", "algorithm must be one of " + ", ".join(ALGORITHMS))
    if not _is_int(digits):
        raise E("bad_account", "digits must be an integer")
    if algorithm == "STEAM":
        if digits != 5:
            raise E("bad_account", "STEAM codes have 5 digits")
        if hotp:
            raise E("bad_account", "Steam codes are time-based, never HOTP")
    elif digits < 6 or digits > 8:
        raise E("bad_account", "digits must be 6 to 8")
    if not _is_int(period) or period < 1 or period > PERIOD_MAX:
        raise E("bad_account", "period must be 1 to %d seconds" % PERIOD_MAX)
    if not _is_int(created) or created < 0 or created > U32_MAX:
        raise E("bad_account", "created must be an epoch time")
    return (struct.pack(RECORD, ALGORITHMS.index(algorithm) | (HOTP if hotp else 0), digits,
                        len(nb), len(ib), n, period, created) + nb + ib + bytes(secret))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_text(E, what, text, limit):
    if not isinstance(text, str):
        raise E("bad_account", what + " must be text")
    try:
        data = text.encode("utf-8")
    except UnicodeError:  # CPython: a lone surrogate (U+D800-DFFF) has no UTF-8
        data = b"\xed\xa0"
    if len(data) > limit:
        raise E("bad_account", "%s is %d bytes long (at most %d)"
                         % (what, len(data), limit))
    prev = 0
    for b in data:
        if b < 0x20 or b == 0x7F:
            raise E("bad_account", what + " contains control characters")
        # MicroPython encodes a lone surrogate as ED A0-BF ..: bytes no host decodes, so
        # every later list and code reply would be unreadable.
        if prev == 0xED and b >= 0xA0:
            raise E("bad_account", what + " contains a lone surrogate (not valid Unicode)")
        prev = b
    return data


# A vault being changed is a draft: a sequence of items, each a new record (bytes), the
# index of a record in `base` (the _Records it started from), or -1 - j for record j of
# the Batch being added (`_batch`), so that a change copies no record it keeps.
_batch = None


class KeyHashes:
    """key_hash() -> index, for indexes given in order (0, 1, 2, ...): hash i is 4 bytes at
    position i, in bytearrays of _PIECE hashes (no block past 128 bytes, none that grows),
    and a lookup that misses, the usual case (a new account), is a search in C. The dicts
    this replaced grew by reallocation: the commit of an import's second batch on
    CircuitPython 9.2.8 (200 records in RAM) found no hole for 184 bytes of one of them."""

    def __init__(self, room=0):
        # Room for `room` hashes made now (while the heap still holds little), more later.
        self.parts = [_no_hashes() for _ in range((room + _PIECE - 1) // _PIECE)]
        self.n = 0
        self._probe = bytearray(4)

    def get(self, h):
        probe = self._probe
        struct.pack_into("<i", probe, 0, h)
        base = 0
        for part in self.parts:
            if probe in part:  # maybe across two hashes: checked hash by hash
                for k in range(0, 4 * _PIECE, 4):
                    if base + (k >> 2) < self.n and struct.unpack_from("<i", part, k)[0] == h:
                        return base + (k >> 2)
            base += _PIECE
        return None

    def __setitem__(self, h, i):
        if i != self.n:
            raise ValueError("key hashes are set in index order")
        if i // _PIECE == len(self.parts):
            self.parts.append(_no_hashes())
        struct.pack_into("<i", self.parts[i // _PIECE], 4 * (i % _PIECE), h)
        self.n = i + 1


def _no_hashes():
    return bytearray(b"\xff" * (4 * _PIECE))  # -1 each: no key hash is negative


class _Draft:
    """The items of a draft, as a list held in lists of about _PIECE items: one list of
    200 items is an 800-byte block (1 KB once grown by appends), and CircuitPython 8.2.6's
    heap, fragmented after an import, had no such hole with 47 KB free."""

    def __init__(self, n=0):
        # Items 0 .. n-1: the records of the vault as it is.
        self.parts = [list(range(a, min(a + _PIECE, n))) for a in range(0, n, _PIECE)]

    def __len__(self):
        n = 0
        for p in self.parts:
            n += len(p)
        return n

    def _at(self, i):
        for p in self.parts:
            if i < len(p):
                return p, i
            i -= len(p)
        raise IndexError("draft index out of range")

    def __getitem__(self, i):
        p, k = self._at(i)
        return p[k]

    def __setitem__(self, i, x):
        p, k = self._at(i)
        p[k] = x

    def __iter__(self):
        for p in self.parts:
            for x in p:
                yield x

    def append(self, x):
        parts = self.parts
        if not parts or len(parts[-1]) >= _PIECE:
            parts.append([])
        parts[-1].append(x)

    def pop(self, i):
        p, k = self._at(i)
        return p.pop(k)

    def insert(self, i, x):
        if i >= len(self):
            self.append(x)
        else:
            p, k = self._at(i)
            p.insert(k, x)


def _span(base, x):
    if isinstance(x, int):
        if x < 0:
            return _batch.span(-1 - x)
        return base.span(x)
    return x, 0, len(x)


def _item_key(base, x):
    buf, a, _ = _span(base, x)
    return record_key(buf, a)


def _lookup(base, items, keys, key):
    i = keys.get(key_hash(key))
    if i is None:
        return None
    if _item_key(base, items[i]) == key:
        return i
    return _scan(base, items, key)


def _scan(base, items, key):
    # One lookup: cheaper than building the hashes of every item first.
    i = 0
    for x in items:
        if _item_key(base, x) == key:
            return i
        i += 1
    return None


def _keys(base, items):
    # Hashes (small ints) rather than the keys themselves: a few KB for 200 accounts
    # instead of a second copy of every name. _lookup settles collisions.
    keys = KeyHashes()
    i = 0
    for x in items:
        keys[key_hash(_item_key(base, x))] = i
        i += 1
    return keys


def _draft_size(base, items):
    n = _HEADER_SIZE + _CRC_SIZE
    for x in items:
        _, a, b = _span(base, x)
        n += b - a
    return n


def find(v, issuer, name):
    """Index of the account with this issuer and name (case-insensitive), or None."""
    try:
        nb = name.encode("utf-8")
        ib = issuer.encode("utf-8")
    except UnicodeError:  # a lone surrogate: no stored account has one
        return None
    return _scan(v.recs, range(len(v.recs)), key_of(nb + ib, len(nb)))


def _write_slot(v, slot, base, items, seq):
    run_steps(_write_slot_steps(v, slot, base, items, seq))


def _write_slot_steps(v, slot, base, items, seq):
    # Streamed from where each record already is (the vault's buffer, a staged batch): a
    # second copy of the whole vault in RAM is what a 200-account write cannot afford.
    fs = v.fs
    try:
        f = fs.open(v.paths[slot], "wb")
    except OSError as e:
        raise v.M.VaultError("io", "cannot write the vault: %s" % _why(e)) from None
    try:
        head = struct.pack(HEADER, MAGIC, _VERSION, 0, len(items), seq)
        f.write(head)
        crc = crc32(head)
        n = 0
        for x in items:
            buf, a, b = _span(base, x)
            rec = memoryview(buf)[a:b]
            f.write(rec)
            crc = crc32(rec, crc)
            n += 1
            if n % _STEP_RECORDS == 0:
                rec = buf = None
                yield
        f.write(struct.pack("<I", crc))
        f.flush()
        f.close()
        f = None
        fs.sync()
    except OSError as e:
        raise v.M.VaultError("io", "cannot write the vault: %s" % _why(e)) from None
    finally:
        if f is not None:
            try:
                f.close()
            except OSError:
                pass


def _scrub_steps(v, slot):
    # Overwrite in place before rewriting: truncating a FAT file frees its clusters
    # without erasing them, which would leave a deleted secret readable on the chip.
    path = v.paths[slot]
    size = v.fs.size(path)
    if not size:
        return
    f = v.fs.open(path, "r+b")
    try:
        zeros = bytes(_SCRUB_CHUNK)
        done = 0
        k = 0
        while done < size:
            n = min(_SCRUB_CHUNK, size - done)
            f.write(zeros if n == _SCRUB_CHUNK else zeros[:n])
            done += n
            k += 1
            if k % _STEP_SCRUB == 0:
                yield
        f.flush()
    finally:
        f.close()
    v.fs.sync()


def _commit(v, items, scrub=False, written=None):
    run_steps(_commit_steps(v, items, scrub, written))


def _commit_steps(v, items, scrub=False, written=None):
    # The vault is busy from the first step: v.recs (which `items` points into) and the
    # counters stay as they are until the new slot is read back.
    base = v.recs
    used = _draft_size(base, items)
    if used > MAX_BYTES:
        raise v.M.VaultError("full", "the vault is full (%d bytes free, %d needed)"
                         % (MAX_BYTES - v.used, used - v.used))
    target = 0 if v.slot is None else 1 - v.slot
    seq = v.seq + 1
    heap.sample()  # the old records, the draft and a staged batch all in RAM
    yield from _write_slot_steps(v, target, base, items, seq)
    slot = target
    if scrub:
        # The spare slot still holds what was just removed; replace it too. Failing here
        # is harmless: the new vault is already safe in `target`.
        other = 1 - target
        try:
            yield from _scrub_steps(v, other)
            yield from _write_slot_steps(v, other, base, items, seq + 1)
            seq += 1
            slot = other
        except (OSError, v.M.VaultError):
            pass
    yield
    # The slot just written is checked (every record and the CRC, the records read
    # through one small buffer), and its sequence and length must be those written: the
    # CRC was computed from the records in RAM, so the file holds what RAM holds. Until
    # then the old records stay, so a failure leaves the vault in RAM as it was.
    found = v.read_slot(slot, None)
    if found is None or found[0] != seq or found[1] != used - _HEADER_SIZE - _CRC_SIZE:
        raise v.M.VaultError("io", "the vault did not read back as written")
    # The new vault's records stay where they are (the old vault's chunks, the batch's);
    # only new records (an add, a rename) are copied, into chunks of their own. Reading
    # the slot back into new chunks instead needed a second vault's worth of heap in
    # 512-byte holes, which CircuitPython 9.2.8 did not have after an edit at 200.
    recs = _adopt(base, items)
    heap.sample()  # the old records, the new index and a staged batch
    v.recs = recs
    v.seq = seq
    v.slot = slot
    v.used = used
    v.status = "ok"
    v.generation += 1
    _zero_dead(base, items)
    if written is not None:
        written()


def _adopt(base, items):
    # A _Records over the records of `items` where they already are: the chunks of
    # `base`, then those of the batch, then new ones for the records given as bytes.
    # Chunks that no record of `items` uses are left out (and freed).
    recs = type(base)()
    chunks = recs.chunks
    chunks.extend(base.chunks)
    n0 = len(chunks)
    if _batch is not None:
        chunks.extend(_batch.chunks)
    shared = len(chunks)
    fresh = type(base)()  # packs the new records, then lends recs its chunks
    left = 0  # bytes of the new records not yet placed: no chunk bigger than they need
    for x in items:
        if not isinstance(x, int):
            left += len(x)
    for x in items:
        if isinstance(x, int):
            if x < 0:
                ci, at, end = _batch.locate(-1 - x)
                ci += n0
            else:
                ci, at, end = base.locate(x)
            size = end - at
        else:
            size = len(x)
            c, at = fresh.place(size, min(_CHUNK, left))
            c[at:at + size] = x
            left -= size
            ci = shared + len(fresh.chunks) - 1
        recs.note(ci, at, size)
    chunks.extend(fresh.chunks)
    recs.drop_unused()
    return recs


def _zero_dead(base, items):
    # The records of `base` that `items` does not keep (deleted, replaced, renamed): their
    # bytes, a secret among them, are zeroed where they lie.
    live = bytearray(len(base))
    for x in items:
        if isinstance(x, int) and x >= 0:
            live[x] = 1
    zero = bytes(16)
    for j in range(len(base)):
        if not live[j]:
            c, a, b = base.span(j)
            while a < b:
                n = min(16, b - a)
                c[a:a + n] = zero[:n] if n < 16 else zero
                a += n


def _draft(v):
    return _Draft(len(v.recs))


def _index(v, i, what="index"):
    if not _is_int(i):
        raise v.M.VaultError("bad_account", what + " must be an integer")
    if i < 0 or i >= len(v.recs):
        raise v.M.VaultError("not_found", "no account at %s %d (there are %d)"
                         % (what, i, len(v.recs)))
    return i


def _place(v, recs, keys, acc, overwrite, batch, ref=None):
    # Shared by add and add_many: puts acc's record into the draft `recs` (whose key
    # hashes map to indexes in `keys`) and returns its index; `batch` is (a draft of
    # the records placed so far, their key hashes) to catch the same account twice, or
    # None for a staged Batch (fob/provision.py refused a repeat as it was staged).
    # `ref`: how the draft names the record (-1 - j: record j of a Batch), else its bytes.
    v.M.validate(acc)
    key = acc.key()
    if ref is None:
        ref = acc.raw
    if batch is not None:
        if _lookup(None, batch[0], batch[1], key) is not None:
            raise v.M.VaultError("duplicate", "the same account appears twice: "
                                 + acc.label())
        batch[0].append(ref)
        batch[1][key_hash(key)] = len(batch[0]) - 1
    i = _lookup(v.recs, recs, keys, key)
    if i is not None:
        if not overwrite:
            raise v.M.VaultError("duplicate", "an account for %s already exists" % acc.label())
        recs[i] = ref
        return i
    if len(recs) >= CAPACITY:
        raise v.M.VaultError("full", "the vault is full (%d accounts)" % CAPACITY)
    recs.append(ref)
    keys[key_hash(key)] = len(recs) - 1
    return len(recs) - 1


def _busy(v):
    if v.busy:
        raise v.M.VaultError("busy", "the fob is storing a change; try again once it is "
                             "done")
    v.busy = True


def _changing(v, steps):
    # A change's steps with the vault busy from the first to the last (or to close()).
    _busy(v)
    try:
        out = yield from steps
    finally:
        v.busy = False
    return out


def add(v, acc, overwrite=False):
    """Store ``acc``; returns its index. Replaces in place when ``overwrite``."""
    return run_steps(add_steps(v, acc, overwrite))


def add_steps(v, acc, overwrite=False):
    return _changing(v, _add(v, acc, overwrite))


def _add(v, acc, overwrite):
    new = _draft(v)
    i = _place(v, new, _keys(v.recs, new), acc, overwrite, (_Draft(), KeyHashes()))
    yield from _commit_steps(v, new)
    return i


def add_many(v, accs, overwrite=False):
    """All or nothing, with one flash write; returns the list of indexes. ``accs`` is a
    list of Account or a vault.Batch (whose records are then written from where they are,
    not copied, and which is empty afterwards)."""
    return run_steps(add_many_steps(v, accs, overwrite))


def add_many_steps(v, accs, overwrite=False):
    return _changing(v, _add_many(v, accs, overwrite))


def _add_many(v, accs, overwrite):
    global _batch
    new = _draft(v)
    keys = _keys(v.recs, new)
    # Only small ints are kept per account while placing: long-lived small objects
    # made in a loop that also makes garbage scatter across the heap and leave no
    # hole big enough for the growing list (MicroPython's heap does not compact).
    # The indexes as halfwords (200 bytes for a batch of 100, not a 400-byte list): on
    # CircuitPython 9.2.8 the commit of an import's second batch, with 200 records in RAM,
    # found no hole for the list.
    out = array("H", bytes(2 * len(accs)))
    staged = isinstance(accs, v.M.Batch)
    batch = None if staged else (_Draft(), KeyHashes())
    # Set for the whole change (the vault is busy, so no other change reads it), and
    # cleared by the finally also when the change is abandoned (close()).
    _batch = accs if staged else None
    try:
        for n in range(len(accs)):
            try:
                out[n] = _place(v, new, keys, accs[n], overwrite, batch, -1 - n if staged
                                else None)
            except v.M.VaultError as e:
                raise v.M.VaultError(e.code, "accounts[%d]: %s" % (n, e.message)) from None
            if n % _STEP_RECORDS == _STEP_RECORDS - 1:
                yield
        batch = keys = None  # not needed to write: their heap goes to the commit
        if out:
            # A Batch is emptied once its records are the vault's.
            yield from _commit_steps(v, new, written=accs.clear if staged else None)
    finally:
        _batch = None
    new = None
    return list(out)


def delete(v, i):
    return run_steps(delete_steps(v, i))


def delete_steps(v, i):
    return _changing(v, _delete(v, i))


def _delete(v, i):
    i = _index(v, i)
    gone = v.M.Account(None, None, v.recs.record(i))
    new = _draft(v)
    new.pop(i)
    yield from _commit_steps(v, new, scrub=True)
    return gone


def rename(v, i, name, issuer=None):
    return run_steps(rename_steps(v, i, name, issuer))


def rename_steps(v, i, name, issuer=None):
    return _changing(v, _rename(v, i, name, issuer))


def _rename(v, i, name, issuer):
    i = _index(v, i)
    old = v.M.Account(None, None, v.recs.record(i))
    acc = v.M.Account(name, old.issuer if issuer is None else issuer, old.secret,
                      old.algorithm, old.digits, old.period, old.created, old.hotp)
    new = _draft(v)
    j = _scan(v.recs, new, acc.key())
    if j is not None and j != i:
        raise v.M.VaultError("duplicate", "an account for %s already exists" % acc.label())
    new[i] = acc.raw
    yield from _commit_steps(v, new)
    return acc


def move(v, i, j):
    return run_steps(move_steps(v, i, j))


def move_steps(v, i, j):
    return _changing(v, _move(v, i, j))


def _move(v, i, j):
    i = _index(v, i)
    j = _index(v, j, "position")
    if i != j:
        new = _draft(v)
        new.insert(j, new.pop(i))
        yield from _commit_steps(v, new)
    return j


def wipe(v):
    run_steps(wipe_steps(v))


def wipe_steps(v):
    return _changing(v, _wipe(v))


def _wipe(v):
    yield from _commit_steps(v, [], scrub=True)
    # The HOTP counters go too (both slots, so no old counter outlives its account), where
    # there are any.
    c = v.counters()
    if c.slot is not None:
        c.save((), set())
        c.save((), set())


_EROFS = const(30)
_ENOSPC = const(28)


def _why(e):
    # OSError text on CircuitPython is often just the errno number.
    code = e.args[0] if e.args else None
    if code == _EROFS:
        return "the drive is read-only (is the fob in update mode?)"
    if code == _ENOSPC:
        return "no space left on the drive"
    if len(e.args) > 1:
        return str(e.args[1])
    return "I/O error %s" % (code,)
