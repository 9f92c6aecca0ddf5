# HOTP counters: the counter of each counter-based account's next code, kept apart from the
# vault so that a code costs one small write, not a rewrite of every account. Loaded with
# the first HOTP account the fob shows or takes.
#
# Two slot files, as the vault: each save goes to the slot not holding the current copy,
# with a sequence number one higher, so a power cut leaves the old counters or the new.
# A counter is saved moved on *before* its code is shown or sent: a code is never shown
# twice, even across a power cut (one may be skipped, which RFC 4226's look-ahead window
# on the server takes in its stride).
#
# Slot layout (little endian): "OTPH" | sequence u32 | count u16 | count x (id u32,
# counter u32) | CRC-32. An account's id is the CRC-32 of its secret: it stays the same
# when the account is renamed or moved.
import struct

from fob.guard import read_checked, write_checked
from fob.vault import crc32, join

_MAGIC = b"OTPH"
_HEAD = "<4sIH"
_HEAD_SIZE = 10
_CRC_SIZE = 4
_SLOTS = ("hotp_a.bin", "hotp_b.bin")


def ident(acc):
    return crc32(acc.secret)


class Counters:
    def __init__(self, root, fs):
        self.fs = fs
        self.paths = (join(root, _SLOTS[0]), join(root, _SLOTS[1]))
        self.seq = 0
        self.slot = None
        self.table = {}
        best = None
        for slot in (0, 1):
            found = self._read(slot)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
                self.slot = slot
        if best is not None:
            self.seq, self.table = best

    def _read(self, slot):
        path = self.paths[slot]
        size = self.fs.size(path)
        if size is None or size < _HEAD_SIZE + _CRC_SIZE:
            return None
        data = read_checked(self.fs, path, size - _CRC_SIZE)
        if data is None:
            return None
        magic, seq, count = struct.unpack(_HEAD, data[:_HEAD_SIZE])
        if magic != _MAGIC or len(data) != _HEAD_SIZE + 8 * count:
            return None
        table = {}
        for i in range(count):
            k, c = struct.unpack("<II", data[_HEAD_SIZE + 8 * i:_HEAD_SIZE + 8 * i + 8])
            table[k] = c
        return seq, table

    def get(self, acc):
        """The counter of `acc`'s next code (0 for one never seen)."""
        return self.table.get(ident(acc), 0)

    def save(self, changes, keep=None):
        """Sets the counters of `changes` ((account, counter) pairs) and writes them, with
        only the ids in `keep` (a set of the vault's HOTP ids) when given; raises
        OSError."""
        table = self.table
        if keep is not None:
            table = dict((k, c) for k, c in table.items() if k in keep)
        else:
            table = dict(table)
        for acc, counter in changes:
            table[ident(acc)] = counter
        out = bytearray(struct.pack(_HEAD, _MAGIC, self.seq + 1, len(table)))
        for k, c in table.items():
            out += struct.pack("<II", k, c)
        target = 0 if self.slot is None else 1 - self.slot
        write_checked(self.fs, self.paths[target], bytes(out))
        self.seq += 1
        self.slot = target
        self.table = table

    def take(self, acc):
        """The counter for `acc`'s code now; saved moved on first (raises OSError)."""
        c = self.get(acc)
        self.save(((acc, c + 1),))
        return c


def hotp_ids(vault):
    out = set()
    for a in vault.accounts:
        if a.hotp:
            out.add(ident(a))
    return out
