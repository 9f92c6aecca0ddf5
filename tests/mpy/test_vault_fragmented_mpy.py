"""Vault changes at 200 accounts in a fragmented heap, on the MicroPython unix port.

CircuitPython 8.2.6 (emulated RP2040) ran out of memory on a 1.3 KB dict of key hashes
with 47 KB free: after an import the free heap lies in holes between long-lived objects,
and MicroPython does not compact. Here the heap is cut into holes of at most HOLE bytes
before each change, so any block that grows with the number of accounts (a dict or list
of all of them, the vault in one piece) fails, and only small per-record ones succeed."""

import pytest
from mpy_build import compiled_firmware

from otpfob.testing import mpy

pytestmark = pytest.mark.skipif(mpy.unix_binary() is None, reason="no MicroPython unix port")

# Bytes of the largest free block left (the unix port is 64-bit: a dict or list of 200
# entries there is 1.6-3 KB, twice a board's).
HOLE = 1024

SCRIPT = r"""
import gc
from fob import heap, vault_edit, wire  # noqa: loaded before the heap is cut up
from fob.vault import Account, Batch, Vault

HOLE = %d
ROOT = %r


def fragment():
    # Fills the whole heap with one-block tuples in address order (first fit takes the
    # lowest free block), then frees all but every (HOLE / 32 + 1)th: holes of HOLE
    # bytes (32-byte blocks on this 64-bit port) between blocks that stay. Returns the
    # chain of those that stay.
    gc.collect()
    run = HOLE // 32 + 1
    keep = None
    gone = None
    n = 0
    try:
        while True:
            if n %% run:
                gone = (gone,)
            else:
                keep = (keep,)
            n += 1
    except MemoryError:
        pass
    gone = None
    gc.collect()
    return keep


def largest_free():
    # Proof that the heap is cut up: a block twice a hole finds no room.
    try:
        bytearray(2 * HOLE)
        return "big block fits"
    except MemoryError:
        return "no big block"


def acc(i, tag):
    return Account("user%%03d@example.com" %% i, "Issuer%%03d" %% i, bytes((i, 7)) * 10,
                   "SHA256" if i %% 25 == 7 else "SHA1", 6, 30, 1800000000 + i)


v = Vault(ROOT)
v.load()
b = Batch()
for i in range(100, 200):
    b.append(acc(i, "new"))
keep = fragment()
print("FRAGMENTED", largest_free(), gc.mem_free())
v.add_many(b)
print("ADDED", len(v.accounts), len(b))
keep = None
keep = fragment()
print("FRAGMENTED", largest_free(), gc.mem_free())
print("FOUND", v.find("Issuer150", "USER150@example.com"))
gone = v.delete(199)
print("DELETED", gone.name, len(v.accounts))
keep = None
keep = fragment()
v.rename(1, "renamed@example.com")
v.move(0, 150)
keep = None
v2 = Vault(ROOT)
v2.load()
print("RELOADED", v2.status, len(v2.accounts), v2.accounts[0].name, v2.accounts[150].name,
      v2.accounts[198].name)
"""


def test_add_many_delete_rename_move_at_200_in_a_heap_cut_into_1kb_holes(tmp_path):
    from fob.vault import Account, Vault

    state = tmp_path / "state"
    state.mkdir()
    v = Vault(str(state))
    v.load()
    v.add_many(
        [
            Account("user%03d@example.com" % i, "Issuer%03d" % i, bytes((i, 7)) * 10)
            for i in range(100)
        ]
    )
    lib = compiled_firmware(tmp_path / "lib")
    res = mpy.run_unix(SCRIPT % (HOLE, str(state)), paths=[lib], heapsize=mpy.UNIX_HEAP)
    out = res.stdout
    assert res.rc == 0, out + res.stderr
    assert out.count("FRAGMENTED no big block") == 2, out
    assert "ADDED 200 0" in out, out
    assert "FOUND 150" in out, out
    assert "DELETED user199@example.com 199" in out, out
    assert "RELOADED ok 199 renamed@example.com user000@example.com user198@example.com" in out, out
