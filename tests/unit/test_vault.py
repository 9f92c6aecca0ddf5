"""The vault: accounts on flash in two CRC-checked slots that survive a power cut anywhere."""

import copy
import os
import random
import zlib

import pytest

from fob import vault as vault_mod
from fob.vault import CAPACITY, Account, Vault, VaultError

ROOT = "/state"


# -- a file layer in memory, optionally losing power after a number of steps -----------


class PowerCut(OSError):
    pass


class MemFile:
    def __init__(self, fs, path, mode):
        self.fs = fs
        self.path = path
        if "r" in mode and path not in fs.files:
            raise OSError(2, "no such file")
        if "w" in mode:
            fs.files[path] = bytearray()
        self.pos = 0

    def read(self, n):
        data = bytes(self.fs.files[self.path][self.pos : self.pos + n])
        self.pos += len(data)
        return data

    def write(self, data):
        data = bytes(data)
        keep = self.fs.step_bytes(len(data))
        buf = self.fs.files[self.path]
        buf[self.pos : self.pos + keep] = data[:keep]
        self.pos += keep
        if keep < len(data):
            if self.fs.junk:
                # What FAT can leave behind: the clusters were allocated and the length
                # updated, but the sectors hold whatever was there before.
                end = self.pos + len(data) - keep
                buf[self.pos : end] = bytes(
                    self.fs.rng.randrange(256) for _ in range(end - self.pos)
                )
            raise PowerCut("power cut while writing")
        return len(data)

    def flush(self):
        self.fs.step("flush")

    def close(self):
        self.fs.step("close")


class MemFS:
    """Files as bytearrays; with ``budget`` set, every written byte and every open, flush,
    close and sync costs one step, and the power goes at the step past the budget."""

    def __init__(self, files=None, budget=None, junk=False, seed=0):
        self.files = {} if files is None else files
        self.budget = budget
        self.steps = 0
        self.dead = False
        self.junk = junk
        self.rng = random.Random(seed)
        self.log = []

    def step(self, what):
        if self.dead:
            raise PowerCut("no power")
        if self.budget is not None and self.steps >= self.budget:
            self.dead = True
            raise PowerCut("power cut at " + what)
        self.steps += 1

    def step_bytes(self, n):
        if self.dead:
            raise PowerCut("no power")
        if self.budget is None:
            self.steps += n
            return n
        keep = max(0, min(n, self.budget - self.steps))
        self.steps += keep
        if keep < n:
            self.dead = True
        return keep

    def open(self, path, mode):
        self.step("open")
        self.log.append((mode, path))
        return MemFile(self, path, mode)

    def size(self, path):
        f = self.files.get(path)
        return None if f is None else len(f)

    def sync(self):
        self.step("sync")

    def writes(self):
        return [p for m, p in self.log if "w" in m]


def acc(name="alice@example.com", issuer="Example", secret=b"12345678901234567890", **kw):
    return Account(name, issuer, secret, **kw)


def loaded(fs):
    v = Vault(ROOT, fs)
    v.load()
    return v


def snapshot(v):
    return [copy.copy(a.__dict__) for a in v.accounts]


def reload_snapshot(files):
    return snapshot(loaded(MemFS(copy.deepcopy(files))))


# -- round trips and the format ------------------------------------------------------


def test_new_vault_is_empty_and_loads_as_new():
    v = loaded(MemFS())
    assert v.accounts == [] and v.status == "new"
    assert v.bytes_used == 16 and v.bytes_free == vault_mod.MAX_BYTES - 16
    assert v.capacity >= 200


def test_every_field_survives_a_reload():
    fs = MemFS()
    v = loaded(fs)
    accounts = [
        acc(
            "bob",
            "GitHub",
            bytes(range(20)),
            algorithm="SHA1",
            digits=6,
            period=30,
            created=1800000000,
        ),
        acc(
            "čeněk@příklad.cz",
            "Bánk ✓",
            bytes(range(32)),
            algorithm="SHA256",
            digits=8,
            period=60,
            created=0xFFFFFFFF,
        ),
        acc("x", "", b"\x00\xff" * 32, algorithm="SHA512", digits=7, period=86400),
        acc("steam user", "Steam", b"\xaa" * 10, algorithm="STEAM", digits=5, period=30),
    ]
    for a in accounts:
        v.add(a)
    again = loaded(MemFS(fs.files))
    assert again.accounts == accounts
    assert again.status == "ok"
    assert again.bytes_used == v.bytes_used == len(fs.files[ROOT + "/vault_b.bin"])


def test_slot_file_has_header_sequence_and_zlib_crc():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc())
    v.add(acc("second"))
    data = bytes(fs.files[ROOT + "/vault_b.bin"])
    assert data[:4] == b"OTPV" and data[4] == 1
    assert int.from_bytes(data[6:8], "little") == 2  # two accounts
    assert int.from_bytes(data[8:12], "little") == 2  # second save
    assert int.from_bytes(data[-4:], "little") == zlib.crc32(data[:-4])


def test_saves_alternate_slots_with_rising_sequence():
    fs = MemFS()
    v = loaded(fs)
    for i in range(4):
        v.add(acc("n%d" % i))
    seqs = {p: int.from_bytes(fs.files[p][8:12], "little") for p in fs.files}
    assert seqs == {ROOT + "/vault_a.bin": 3, ROOT + "/vault_b.bin": 4}
    assert fs.writes() == [ROOT + "/vault_a.bin", ROOT + "/vault_b.bin"] * 2


def test_pure_crc32_matches_zlib():
    rng = random.Random(1)
    for n in (0, 1, 7, 100, 1000):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert vault_mod._crc32_pure(data) == zlib.crc32(data)
        assert vault_mod._crc32_pure(
            data[n // 2 :], vault_mod._crc32_pure(data[: n // 2])
        ) == zlib.crc32(data)


def test_real_filesystem_round_trip(tmp_path):
    v = Vault(str(tmp_path))
    assert v.load() == "new"
    v.add(acc())
    v.add(acc("b", secret=b"\x01" * 16, algorithm="SHA256"))
    again = Vault(str(tmp_path))
    assert again.load() == "ok"
    assert again.accounts == v.accounts
    assert sorted(os.listdir(tmp_path)) == ["vault_a.bin", "vault_b.bin"]


def test_account_repr_hides_the_secret():
    a = acc(secret=b"SUPERSECRETKEY!!")
    assert "SUPERSECRET" not in repr(a) and "5355" not in repr(a)


# -- validation and limits -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(name="n" * 65), "name is 65 bytes"),
        (dict(name="é" * 33), "name is 66 bytes"),
        (dict(issuer="i" * 65), "issuer is 65 bytes"),
        (dict(name="", issuer=""), "both empty"),
        (dict(name="a\nb"), "control"),
        (dict(name=b"bytes"), "name must be text"),
        (dict(secret=b"x"), "secret is 1 bytes"),
        (dict(secret=b"x" * 129), "secret is 129 bytes"),
        (dict(secret="JBSWY3DP"), "secret must be bytes"),
        (dict(algorithm="MD5"), "algorithm"),
        (dict(algorithm="sha1"), "algorithm"),
        (dict(digits=5), "digits"),
        (dict(digits=9), "digits"),
        (dict(digits=True), "digits"),
        (dict(algorithm="STEAM", digits=6), "5 digits"),
        (dict(period=0), "period"),
        (dict(period=86401), "period"),
        (dict(period=30.0), "period"),
        (dict(created=-1), "created"),
    ],
)
def test_invalid_account_is_rejected_with_a_reason_and_nothing_written(bad, words):
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("keep"))
    before = copy.deepcopy(fs.files)
    kw = dict(name="alice", issuer="Example", secret=b"12345678901234567890")
    kw.update(bad)
    with pytest.raises(VaultError) as e:
        v.add(Account(kw.pop("name"), kw.pop("issuer"), kw.pop("secret"), **kw))
    assert e.value.code == "bad_account"
    assert words in e.value.message
    assert fs.files == before
    assert [a.name for a in v.accounts] == ["keep"]


def test_limits_at_the_edge_are_accepted():
    v = loaded(MemFS())
    v.add(acc("é" * 32, "i" * 64, b"ab"))
    v.add(acc("n" * 64, "", b"x" * 128, algorithm="SHA512", digits=8, period=1))
    assert len(v.accounts) == 2


def test_capacity_is_at_least_200_then_full():
    fs = MemFS()
    v = loaded(fs)
    batch = [
        acc("user%03d@example.com" % i, "Service %d" % i, bytes([i]) * 20) for i in range(CAPACITY)
    ]
    v.add_many(batch)
    assert len(v.accounts) == CAPACITY >= 200
    assert v.bytes_free > 0
    with pytest.raises(VaultError) as e:
        v.add(acc("one more"))
    assert e.value.code == "full"
    assert len(loaded(MemFS(fs.files)).accounts) == CAPACITY


def test_byte_budget_full_is_reported():
    v = loaded(MemFS())
    big = [acc("n" * 61 + "%03d" % i, "i" * 64, bytes([i % 256]) * 128) for i in range(200)]
    n = 0
    with pytest.raises(VaultError) as e:
        for a in big:
            v.add(a)
            n += 1
    assert e.value.code == "full" and "bytes" in e.value.message
    assert len(v.accounts) == n and v.bytes_used <= vault_mod.MAX_BYTES


# -- duplicates, overwrite, edits ------------------------------------------------------


def test_duplicate_is_case_insensitive_on_issuer_and_name():
    v = loaded(MemFS())
    v.add(acc("Alice@Example.com", "EXAMPLE"))
    with pytest.raises(VaultError) as e:
        v.add(acc("alice@example.COM", "example"))
    assert e.value.code == "duplicate"
    v.add(acc("alice@example.com", "Other"))
    assert len(v.accounts) == 2
    assert v.find("example", "ALICE@example.com") == 0
    assert v.find("nobody", "x") is None


def test_overwrite_replaces_in_place():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a"))
    v.add(acc("b", secret=b"old-secret-bytes"))
    v.add(acc("c"))
    new = acc("B", secret=b"new-secret-bytes", algorithm="SHA256", digits=8)
    assert v.add(new, overwrite=True) == 1
    assert [a.name for a in v.accounts] == ["a", "B", "c"]
    assert loaded(MemFS(fs.files)).accounts[1] == new


def test_add_many_is_all_or_nothing_and_one_write():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("existing"))
    before = copy.deepcopy(fs.files)
    gen = v.generation
    good = [acc("n%d" % i) for i in range(3)]
    for bad_batch, code in (
        (good + [None], "bad_account"),
        (good + [acc("EXISTING")], "duplicate"),
        (good + [acc("n1")], "duplicate"),
    ):
        fs.log.clear()
        with pytest.raises(VaultError) as e:
            v.add_many(bad_batch)
        assert e.value.code == code
        assert "accounts[3]" in e.value.message
        assert fs.writes() == [] and fs.files == before
        assert [a.name for a in v.accounts] == ["existing"] and v.generation == gen
    fs.log.clear()
    assert v.add_many(good + [acc("existing", secret=b"replaced!!")], overwrite=True) == [
        1,
        2,
        3,
        0,
    ]
    assert len(fs.writes()) == 1
    assert loaded(MemFS(fs.files)).accounts == v.accounts


def test_add_many_with_nothing_writes_nothing():
    fs = MemFS()
    v = loaded(fs)
    assert v.add_many([]) == []
    assert fs.files == {}


def test_delete_rename_move_persist_and_keep_order():
    fs = MemFS()
    v = loaded(fs)
    for n in "abcde":
        v.add(acc(n))
    assert v.move(0, 4) == 4
    assert [a.name for a in v.accounts] == list("bcdea")
    v.move(3, 1)
    assert [a.name for a in v.accounts] == list("becda")
    gone = v.delete(2)
    assert gone.name == "c"
    v.rename(0, "B2", "NewIssuer")
    v.rename(1, "E2")
    again = loaded(MemFS(fs.files))
    assert [(a.issuer, a.name) for a in again.accounts] == [
        ("NewIssuer", "B2"),
        ("Example", "E2"),
        ("Example", "d"),
        ("Example", "a"),
    ]
    assert again.accounts[0].secret == b"12345678901234567890"


def test_edits_with_bad_indexes_or_clashes_change_nothing():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a"))
    v.add(acc("b"))
    before = copy.deepcopy(fs.files)
    for call, code in (
        (lambda: v.delete(2), "not_found"),
        (lambda: v.delete(-1), "not_found"),
        (lambda: v.delete(True), "bad_account"),
        (lambda: v.move(0, 2), "not_found"),
        (lambda: v.rename(5, "x"), "not_found"),
        (lambda: v.rename(0, "B"), "duplicate"),
        (lambda: v.rename(0, "x" * 65), "bad_account"),
    ):
        with pytest.raises(VaultError) as e:
            call()
        assert e.value.code == code
    assert fs.files == before
    assert [a.name for a in v.accounts] == ["a", "b"]


def test_generation_bumps_on_every_change():
    v = loaded(MemFS())
    seen = [v.generation]
    v.add(acc("a"))
    seen.append(v.generation)
    v.add(acc("b"))
    seen.append(v.generation)
    v.move(0, 1)
    seen.append(v.generation)
    v.rename(0, "c")
    seen.append(v.generation)
    v.delete(0)
    seen.append(v.generation)
    v.wipe()
    seen.append(v.generation)
    assert seen == sorted(set(seen))


def test_delete_and_wipe_scrub_the_secret_from_both_slots():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("keep", secret=b"KEEPKEEPKEEPKEEP"))
    v.add(acc("gone", secret=b"GONE-SECRET-0123"))
    v.add(acc("other"))
    v.delete(1)
    assert all(b"GONE-SECRET-0123" not in bytes(f) for f in fs.files.values())
    v.wipe()
    assert all(b"KEEPKEEPKEEPKEEP" not in bytes(f) for f in fs.files.values())
    again = loaded(MemFS(fs.files))
    assert again.accounts == [] and again.status == "ok"


def test_read_only_drive_gives_io_error_and_keeps_memory():
    class ReadOnly(MemFS):
        def open(self, path, mode):
            if "w" in mode or "+" in mode:
                raise OSError(30)
            return MemFS.open(self, path, mode)

    v = loaded(ReadOnly())
    with pytest.raises(VaultError) as e:
        v.add(acc())
    assert e.value.code == "io" and "read-only" in e.value.message
    assert v.accounts == []


# -- power cuts ----------------------------------------------------------------------


def _base_files():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a", secret=b"secret-a-secret-a"))
    v.add(acc("b", "Bank", secret=b"secret-b-secret-b", algorithm="SHA256"))
    v.add(acc("c", secret=b"secret-c-secret-c"))
    return fs.files


OPERATIONS = {
    "add": lambda v: v.add(acc("d", secret=b"new-secret-dddd")),
    "overwrite": lambda v: v.add(acc("b", "bank", secret=b"new-secret-bbbb"), overwrite=True),
    "add_many": lambda v: v.add_many([acc("d"), acc("e"), acc("f")]),
    "delete": lambda v: v.delete(1),
    "rename": lambda v: v.rename(0, "renamed"),
    "move": lambda v: v.move(2, 0),
    "wipe": lambda v: v.wipe(),
}


@pytest.mark.parametrize("junk", [False, True], ids=["clean-cut", "junk-tail"])
@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_power_cut_at_every_step_leaves_old_or_new_vault(op, junk):
    base = _base_files()
    old = reload_snapshot(base)
    probe = MemFS(copy.deepcopy(base))
    v = loaded(probe)
    probe.steps = 0
    OPERATIONS[op](v)
    new = snapshot(v)
    total = probe.steps
    assert new != old and total > 20
    seen = set()
    for n in range(total + 1):
        fs = MemFS(copy.deepcopy(base), junk=junk, seed=n)
        v = loaded(fs)
        fs.steps = 0
        fs.budget = n
        try:
            OPERATIONS[op](v)
        except VaultError as e:
            assert e.code == "io"
            assert snapshot(v) == old  # a failed operation leaves memory unchanged
            done = False
        else:
            assert snapshot(v) == new
            done = True
        after = reload_snapshot(fs.files)
        assert after in (old, new), "cut at step %d/%d" % (n, total)
        if done:
            assert after == new
        seen.add("new" if after == new else "old")
        # Power back: the fob carries on from what it finds, and its next write sticks.
        v2 = loaded(MemFS(fs.files))
        v2.add(acc("after the cut"))
        assert reload_snapshot(fs.files)[:-1] == after
    assert seen == {"old", "new"}


def test_corrupting_any_byte_of_the_newest_slot_falls_back_to_the_older_one():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a"))
    older = snapshot(v)  # in slot A
    v.add(acc("b"))  # slot B, newest
    newest = ROOT + "/vault_b.bin"
    data = bytes(fs.files[newest])
    for i in range(len(data)):
        for flip in (0x01, 0x80):
            files = copy.deepcopy(fs.files)
            files[newest][i] ^= flip
            got = loaded(MemFS(files))
            assert snapshot(got) == older, "byte %d" % i
            assert got.status == "ok"


def test_truncated_or_garbage_slot_falls_back_and_both_bad_is_damaged():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a"))
    v.add(acc("b"))
    newest = ROOT + "/vault_b.bin"
    for cut in range(len(fs.files[newest])):
        files = copy.deepcopy(fs.files)
        files[newest] = files[newest][:cut]
        assert [a.name for a in loaded(MemFS(files)).accounts] == ["a"]
    files = {p: bytearray(os.urandom(len(f))) for p, f in fs.files.items()}
    got = loaded(MemFS(files))
    assert got.accounts == [] and got.status == "damaged"
    # Then the next save still works and becomes the vault.
    got.add(acc("fresh"))
    assert [a.name for a in loaded(MemFS(files)).accounts] == ["fresh"]


def test_valid_crc_with_impossible_content_is_rejected():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("a"))
    v.add(acc("b"))
    newest = ROOT + "/vault_b.bin"
    data = bytearray(fs.files[newest])
    data[12] = 9  # algorithm 9 does not exist
    data[-4:] = zlib.crc32(bytes(data[:-4])).to_bytes(4, "little")
    fs.files[newest] = data
    assert [a.name for a in loaded(MemFS(fs.files)).accounts] == ["a"]


def test_higher_sequence_wins_regardless_of_slot_name():
    fs = MemFS()
    v = loaded(fs)
    v.add(acc("1"))
    v.add(acc("2"))
    v.add(acc("3"))  # slot A, sequence 3
    assert [a.name for a in loaded(MemFS(fs.files)).accounts] == ["1", "2", "3"]
