import hashlib
import hmac as std_hmac
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fob import hmac, sha1, sha1_wide, sha256, sha512

MODULES = {"sha1": sha1, "sha256": sha256, "sha512": sha512}


@pytest.mark.parametrize("name", sorted(MODULES))
@given(data=st.binary(max_size=300))
def test_pure_digest_matches_hashlib(name, data):
    assert hmac.pure_digest(name, data) == hashlib.new(name, data).digest()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_pure_digest_at_every_padding_boundary(name):
    size = MODULES[name].BLOCK_SIZE
    for n in list(range(size - 20, size + 2)) + list(range(2 * size - 20, 2 * size + 2)):
        data = bytes((i * 7 + n) & 0xFF for i in range(n))
        assert hmac.pure_digest(name, data) == hashlib.new(name, data).digest(), n


@pytest.mark.parametrize("name", sorted(MODULES))
def test_sizes_match_hashlib(name):
    mod = MODULES[name]
    ref = hashlib.new(name)
    assert mod.BLOCK_SIZE == ref.block_size
    assert mod.DIGEST_SIZE == ref.digest_size
    assert len(mod.IV) * 2 == mod.DIGEST_SIZE


@pytest.mark.parametrize("name", sorted(MODULES))
def test_hmac_size_table_matches_the_pure_modules(name):
    assert hmac.SIZES[name] == (MODULES[name].BLOCK_SIZE, MODULES[name].DIGEST_SIZE)


def test_hmac_over_native_sha1_does_not_import_the_pure_sha1(monkeypatch):
    # A board with hashlib SHA-1 (CircuitPython 9+) keeps fob/sha1.py off its wake path.
    for mod in ("fob.sha1", "fob.sha1_wide"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    monkeypatch.setattr(hmac, "_native", {})
    mac = hmac.HMAC(b"12345678901234567890", "sha1")
    assert mac.uses_native
    assert mac.digest(b"msg") == std_hmac.new(b"12345678901234567890", b"msg", "sha1").digest()
    assert "fob.sha1" not in sys.modules and "fob.sha1_wide" not in sys.modules


@pytest.mark.parametrize("name", sorted(MODULES))
@given(block=st.binary(min_size=128, max_size=128))
def test_compress_keeps_every_limb_16_bit(name, block):
    mod = MODULES[name]
    state = list(mod.IV)
    mod.compress(state, block, 0)
    assert all(0 <= limb <= 0xFFFF for limb in state)


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("native", [True, False])
@given(key=st.binary(min_size=1, max_size=300), msg=st.binary(max_size=300))
def test_hmac_matches_stdlib(name, native, key, msg):
    mac = hmac.HMAC(key, name, allow_native=native)
    assert mac.uses_native == native
    expected = std_hmac.new(key, msg, name).digest()
    assert mac.digest(msg) == expected
    # The same object again, and for a message of another length, still agrees.
    assert mac.digest(msg) == expected
    assert mac.digest(msg + b"x") == std_hmac.new(key, msg + b"x", name).digest()


def test_hmac_rfc2202_and_rfc4231_vectors():
    # RFC 2202 test case 1 and 6 (key longer than a block), RFC 4231 test case 2.
    for native in (True, False):
        mac = hmac.HMAC(b"\x0b" * 20, "sha1", allow_native=native)
        assert mac.digest(b"Hi There").hex() == "b617318655057264e28bc0b6fb378c8ef146be00"
        mac = hmac.HMAC(b"\xaa" * 80, "sha1", allow_native=native)
        assert (
            mac.digest(b"Test Using Larger Than Block-Size Key - Hash Key First").hex()
            == "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        )
        mac = hmac.HMAC(b"Jefe", "sha256", allow_native=native)
        assert (
            mac.digest(b"what do ya want for nothing?").hex()
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        mac = hmac.HMAC(b"Jefe", "sha512", allow_native=native)
        assert mac.digest(b"what do ya want for nothing?").hex() == (
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )


def test_unknown_hash_name_is_a_value_error():
    with pytest.raises(ValueError, match="md5"):
        hmac.HMAC(b"k", "md5")


class _CircuitPythonLikeHashlib:
    """hashlib as CircuitPython has it: only new(name), sha512 unsupported."""

    def __init__(self):
        self.made = []

    def new(self, name):
        if name == "sha512":
            raise ValueError("Unsupported hash algorithm")
        self.made.append(name)
        return hashlib.new(name)


class _MicroPythonLikeHashlib:
    """hashlib as MicroPython's unix port has it: sha1()/sha256() constructors only."""

    sha1 = staticmethod(hashlib.sha1)
    sha256 = staticmethod(hashlib.sha256)


def test_hmac_uses_hashlib_new_when_there_are_no_constructors(monkeypatch):
    fake = _CircuitPythonLikeHashlib()
    monkeypatch.setattr(hmac, "_hashlib", fake)
    monkeypatch.setattr(hmac, "_native", {})
    mac = hmac.HMAC(b"key", "sha1")
    assert mac.uses_native
    assert mac.digest(b"msg") == std_hmac.new(b"key", b"msg", "sha1").digest()
    assert "sha1" in fake.made
    # sha512 is refused by new(): the pure fallback answers instead.
    mac = hmac.HMAC(b"key", "sha512")
    assert not mac.uses_native
    assert mac.digest(b"msg") == std_hmac.new(b"key", b"msg", "sha512").digest()


def test_hmac_falls_back_when_a_constructor_is_missing(monkeypatch):
    monkeypatch.setattr(hmac, "_hashlib", _MicroPythonLikeHashlib())
    monkeypatch.setattr(hmac, "_native", {})
    assert hmac.HMAC(b"key", "sha256").uses_native
    mac = hmac.HMAC(b"key", "sha512")
    assert not mac.uses_native
    assert mac.digest(b"m") == std_hmac.new(b"key", b"m", "sha512").digest()


def test_no_hashlib_means_pure_everywhere(monkeypatch):
    monkeypatch.setattr(hmac, "_hashlib", None)
    monkeypatch.setattr(hmac, "_native", {})
    for name in MODULES:
        mac = hmac.HMAC(b"key", name)
        assert not mac.uses_native
        assert mac.digest(b"m") == std_hmac.new(b"key", b"m", name).digest()


@pytest.mark.parametrize("name", sorted(MODULES))
@given(block=st.binary(min_size=128, max_size=128), start=st.binary(min_size=64, max_size=64))
def test_compress_into_out_leaves_the_state_and_writes_the_new_one(name, block, start):
    mod = MODULES[name]
    fn = mod.compress
    # A state other than the IV, as an HMAC key's precomputed state would be.
    state = [(start[2 * i] << 8) | start[2 * i + 1] for i in range(len(mod.IV))]
    before = list(state)
    out = bytearray(mod.DIGEST_SIZE)
    fn(state, block, 0, out)
    assert state == before
    fn(state, block, 0)
    assert all(0 <= limb <= 0xFFFF for limb in state)
    assert bytes(out) == b"".join(limb.to_bytes(2, "big") for limb in state)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_compress_reads_the_block_at_an_offset(name):
    mod = MODULES[name]
    data = bytes(range(256)) + bytes(range(256))
    a = list(mod.IV)
    b = list(mod.IV)
    mod.compress(a, data, 37)
    mod.compress(b, data[37 : 37 + mod.BLOCK_SIZE], 0)
    assert a == b


# fob.sha1_wide: SHA-1 over whole 32-bit words, which fob.hmac uses where small ints hold
# 62 bits (64-bit ports, and CPython here); fob.sha1 (16-bit halves) everywhere else.


def _limbs_to_words(limbs):
    return [(limbs[i] << 16) | limbs[i + 1] for i in range(0, len(limbs), 2)]


def test_wide_sizes_and_iv_match_the_16_bit_module():
    assert sha1_wide.BLOCK_SIZE == sha1.BLOCK_SIZE == 64
    assert sha1_wide.DIGEST_SIZE == sha1.DIGEST_SIZE == 20
    assert list(sha1_wide.IV) == _limbs_to_words(sha1.IV)


@given(block=st.binary(min_size=64, max_size=64), start=st.binary(min_size=20, max_size=20))
def test_wide_compress_agrees_with_the_16_bit_one(block, start):
    limbs = [(start[2 * i] << 8) | start[2 * i + 1] for i in range(10)]
    words = _limbs_to_words(limbs)
    out16 = bytearray(20)
    out32 = bytearray(20)
    sha1.compress(list(limbs), block, 0, out16)
    sha1_wide.compress(list(words), block, 0, out32)
    assert out32 == out16
    sha1.compress(limbs, block, 0)
    sha1_wide.compress(words, block, 0)
    assert words == _limbs_to_words(limbs)
    assert all(0 <= w <= 0xFFFFFFFF for w in words)


@given(block=st.binary(min_size=64, max_size=64), start=st.binary(min_size=20, max_size=20))
def test_wide_compress_into_out_leaves_the_state(block, start):
    state = [int.from_bytes(start[i : i + 4], "big") for i in range(0, 20, 4)]
    before = list(state)
    out = bytearray(20)
    sha1_wide.compress(state, block, 0, out)
    assert state == before
    sha1_wide.compress(state, block, 0)
    assert bytes(out) == b"".join(w.to_bytes(4, "big") for w in state)


def test_wide_compress_reads_the_block_at_an_offset():
    data = bytes(range(256)) + bytes(range(256))
    a = list(sha1_wide.IV)
    b = list(sha1_wide.IV)
    sha1_wide.compress(a, data, 37)
    sha1_wide.compress(b, data[37:101], 0)
    assert a == b


def test_hmac_picks_the_sha1_by_word_size(monkeypatch):
    monkeypatch.setattr(hmac, "WIDE", True)
    assert hmac.pure_module("sha1") is sha1_wide
    monkeypatch.setattr(hmac, "WIDE", False)
    assert hmac.pure_module("sha1") is sha1
    assert hmac.pure_module("sha256") is sha256


@pytest.mark.parametrize("wide", [True, False])
@given(key=st.binary(min_size=1, max_size=100), msg=st.binary(max_size=150))
def test_pure_sha1_and_its_hmac_match_the_stdlib_with_either_module(wide, key, msg):
    # Both modules through every path of fob.hmac: digest, the precomputed key states,
    # long keys and messages past one block.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hmac, "WIDE", wide)
        assert hmac.pure_digest("sha1", msg) == hashlib.sha1(msg).digest()
        mac = hmac.HMAC(key, "sha1", allow_native=False)
        assert mac._mod is (sha1_wide if wide else sha1)
        assert mac.digest(msg) == std_hmac.new(key, msg, "sha1").digest()
        assert (
            mac.digest_counter(0x1_0000_0001)
            == std_hmac.new(key, (0x1_0000_0001).to_bytes(8, "big"), "sha1").digest()
        )
