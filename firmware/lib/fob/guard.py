# The fob's management password, its retry counter, the add-presence policy and the
# highest time the fob has seen: one small record kept in two slots, like the vault, so a
# power cut during a write leaves the previous record readable.
#
# The fob never sees the password. The host derives a 32-byte key from it with
# PBKDF2-HMAC-SHA256 over this fob's salt (a high iteration count, on the laptop); the
# fob stores that key as the verifier and both sides prove knowledge of it with
# HMAC-SHA256 over fresh random challenges from both ends (docs/protocol.md, "Password").
# Loaded by fob/protocol.py at the first request, and kept. Who may do what is in
# fob/policy.py, with the questions to the holder; the login is in fob/access.py, loaded
# when first needed.
import struct

from fob.vault import join, crc32
from fob.wire import run_steps

from micropython import const

# Wrong passwords never erase anything: TRIES wrong answers in a row stop the logins, and
# only the holder, with a press on the fob, lets a host try again, TRIES more each time,
# at most UNLOCKS times between two right answers. A finder with the fob in hand gets
# TRIES * (UNLOCKS + 1) guesses in all; after that only a reset (with a press) helps.
TRIES = const(8)
UNLOCKS = const(3)
ITERATIONS_MIN = const(10000)
ITERATIONS_MAX = const(100000000)
SALT_SIZE = const(16)
KEY_SIZE = const(32)
NONCE_SIZE = const(16)
_MAGIC = b"OTPG"
_VERSION = const(2)
# magic, version, flags, sequence, tries left, iterations, salt, key, highest time seen,
# unlocks left (version 2; a version 1 record has no such byte and gets all UNLOCKS)
_FORMAT = "<4sBBIBI16s32sIB"
_SIZE = const(68)
_V1_FORMAT = "<4sBBIBI16s32sI"
_V1_SIZE = const(67)
_CRC_SIZE = const(4)
_SLOTS = ("guard_a.bin", "guard_b.bin")
_F_PASSWORD = const(1)    # a password is set
_F_ADD_QUIET = const(2)   # adds need no button press (only while a password is set)


class Guard:
    def __init__(self, root, fs):
        self.fs = fs
        self._paths = (join(root, _SLOTS[0]), join(root, _SLOTS[1]))
        self.flags = 0
        self.seq = 0
        self.tries = TRIES
        self.unlocks = UNLOCKS
        self.iterations = 0
        self.salt = bytes(SALT_SIZE)
        self.key = bytes(KEY_SIZE)
        self.high_time = 0
        self.slot = None
        # "ok", "new" (no record yet) or "damaged" (records exist, none reads back).
        self.status = "new"
        self.load()

    @property
    def has_password(self):
        # A damaged record counts as a password nobody knows: only a reset (which needs a
        # press on the fob) gets the fob back, never a silent fallback to "no password".
        return bool(self.flags & _F_PASSWORD) or self.status == "damaged"

    @property
    def failed(self):
        """Wrong answers since the last right one (kept on flash, so across power-ups)."""
        return TRIES - self.tries + TRIES * (UNLOCKS - self.unlocks)

    @property
    def locked(self):
        return self.tries <= 0

    @property
    def add_presence(self):
        return not (self.flags & _F_ADD_QUIET and self.flags & _F_PASSWORD)

    def load(self):
        best = None
        present = False
        for slot in (0, 1):
            if self.fs.size(self._paths[slot]) is not None:
                present = True
            fields = self._read(slot)
            if fields is not None and (best is None or fields[3] > best[3]):
                best = fields
                self.slot = slot
        if best is None:
            self.status = "damaged" if present else "new"
            self.slot = None
            return
        (_, _, self.flags, self.seq, self.tries, self.iterations, self.salt, self.key,
         self.high_time, self.unlocks) = best
        self.status = "ok"

    def _read(self, slot):
        path = self._paths[slot]
        data = read_checked(self.fs, path, _SIZE)
        if data is not None:
            fields = struct.unpack(_FORMAT, data)
            version = _VERSION
        else:
            data = read_checked(self.fs, path, _V1_SIZE)
            if data is None:
                return None
            fields = struct.unpack(_V1_FORMAT, data) + (UNLOCKS,)
            version = 1
        if fields[0] != _MAGIC or fields[1] != version or fields[4] > TRIES or \
                fields[9] > UNLOCKS:
            return None
        return fields

    def save(self):
        """Writes the record to the slot not holding the current one; raises OSError."""
        if self.status == "damaged":
            # Never written over: what is in memory is not the record (it would say "no
            # password"). Only clear_password (a reset, with a press) starts a new one.
            raise OSError("password record damaged")
        self.seq += 1
        data = struct.pack(_FORMAT, _MAGIC, _VERSION, self.flags, self.seq, self.tries,
                           self.iterations, self.salt, self.key, self.high_time,
                           self.unlocks)
        target = 0 if self.slot is None else 1 - self.slot
        write_checked(self.fs, self._paths[target], data)
        self.slot = target
        self.status = "ok"

    def set_password(self, salt, iterations, key):
        self.flags |= _F_PASSWORD
        self.salt = salt
        self.iterations = iterations
        self.key = key
        self.tries = TRIES
        self.unlocks = UNLOCKS
        self._save_both()

    def clear_password(self):
        self.status = "new"
        self.flags = 0
        self.salt = bytes(SALT_SIZE)
        self.key = bytes(KEY_SIZE)
        self.iterations = 0
        self.tries = TRIES
        self.unlocks = UNLOCKS
        # Both slots: the older one would still hold the key.
        self._save_both()

    def erase_all(self, vault):
        """The one wipe: every account, then the password (a reset, update mode)."""
        run_steps(self.erase_steps(vault))

    def erase_steps(self, vault):
        """erase_all a step a loop pass (fob/wire.py's WORK)."""
        yield from vault.steps("wipe")
        # The label strips (fob/labels.py) go with the accounts they drew.
        from fob import label_store

        yield from label_store.wipe_steps(vault)
        self.clear_password()

    def _save_both(self):
        self.save()
        try:
            self.save()
        except OSError:
            pass

    def set_add_presence(self, on):
        if on:
            self.flags &= ~_F_ADD_QUIET
        else:
            self.flags |= _F_ADD_QUIET
        self.save()

    def see_time(self, t, force=False):
        """Remembers t when it is the highest time seen (or always, with force). Saves at
        most once an hour of fob time, to spare the flash."""
        if t is None:
            return
        if force or t > self.high_time + 3600 or (self.high_time == 0 and t > 0):
            self.high_time = t
            try:
                self.save()
            except OSError:
                pass
        elif t > self.high_time:
            self.high_time = t


# -- small records with a CRC (this one, and fob/clockset.py's clock window) --------------

def read_checked(fs, path, size):
    """The `size` bytes of a record write_checked wrote, or None when it is missing, short,
    unreadable or its CRC does not match."""
    try:
        f = fs.open(path, "rb")
    except OSError:
        return None
    try:
        data = f.read(size + _CRC_SIZE)
    except OSError:
        return None
    finally:
        f.close()
    if data is None or len(data) != size + _CRC_SIZE or \
            struct.unpack("<I", data[size:])[0] != crc32(data[:size]):
        return None
    return data[:size]


def write_checked(fs, path, data):
    """Writes data and its CRC-32, then syncs; raises OSError."""
    f = fs.open(path, "wb")
    try:
        f.write(data)
        f.write(struct.pack("<I", crc32(data)))
        f.flush()
    finally:
        f.close()
    fs.sync()
