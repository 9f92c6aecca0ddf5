import base64
import hashlib
import hmac as std_hmac
import struct

import pyotp
import pytest
from fakes import RFC4226_CODES, RFC4226_KEY
from hypothesis import given
from hypothesis import strategies as st

from fob import hmac, otp

# RFC 6238 Appendix B: the seeds are "1234567890" repeated to 20, 32 and 64 bytes.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.fixture(params=["native", "pure"])
def engine(request, monkeypatch):
    """Run the test with the host's hashlib visible, then hidden (the pure fallback)."""
    if request.param == "pure":
        monkeypatch.setattr(hmac, "_hashlib", None)
    monkeypatch.setattr(hmac, "_native", {})
    return request.param


class _PyOTP(pyotp.TOTP):
    # pyotp refuses secrets under 112 bits; the fob accepts what a service issues.
    min_secret_length_bits = 8


class _PyHOTP(pyotp.HOTP):
    min_secret_length_bits = 8


def _expected_totp(key, t, digits, period, alg):
    secret = base64.b32encode(key).decode()
    return _PyOTP(secret, digits=digits, interval=period, digest=getattr(hashlib, alg)).at(t)


def _steam_reference(key, t):
    # Steam Guard: HMAC-SHA1 TOTP (30 s), 31-bit truncation, then five base-26 digits,
    # least significant first, in Steam's alphabet.
    mac = std_hmac.new(key, struct.pack(">Q", t // 30), hashlib.sha1).digest()
    off = mac[-1] & 15
    value = int.from_bytes(mac[off : off + 4], "big") & 0x7FFFFFFF
    out = ""
    for _ in range(5):
        value, r = divmod(value, 26)
        out += "23456789BCDFGHJKMNPQRTVWXY"[r]
    return out


def test_hotp_rfc4226_appendix_d(engine):
    for counter, code in enumerate(RFC4226_CODES):
        assert otp.hotp(RFC4226_KEY, counter) == code


@pytest.mark.parametrize("row", RFC6238, ids=[str(r[0]) for r in RFC6238])
def test_totp_rfc6238_appendix_b(engine, row):
    t = row[0]
    for alg, code in zip(("sha1", "sha256", "sha512"), row[1:], strict=True):
        assert otp.totp(SEEDS[alg], t, digits=8, algorithm=alg) == code
        # Fewer digits are the same value's low-order digits.
        assert otp.totp(SEEDS[alg], t, digits=7, algorithm=alg) == code[1:]
        assert otp.totp(SEEDS[alg], t, digits=6, algorithm=alg) == code[2:]


def test_algorithm_names_are_case_insensitive(engine):
    for name in ("SHA256", "Sha256", "sha256"):
        assert otp.totp(SEEDS["sha256"], 59, 8, algorithm=name) == "46119246"


def test_key_object_gives_the_same_codes_as_bytes(engine):
    for alg in ("sha1", "sha256", "sha512"):
        key = otp.Key(SEEDS[alg], alg.upper())
        assert key.uses_native == (engine == "native" and hmac.native(alg) is not None)
        for t, *codes in RFC6238:
            assert otp.totp(key, t, digits=8) == codes[("sha1", "sha256", "sha512").index(alg)]
    key = otp.Key(RFC4226_KEY)
    assert [otp.hotp(key, c) for c in range(10)] == RFC4226_CODES


def test_key_repr_hides_the_secret():
    key = otp.Key(b"supersecretvalue", "sha1")
    assert "supersecret" not in repr(key)


@pytest.mark.parametrize("t", [0, 29, 30, 59, 1700000000, 1793491200, 2**33])
def test_steam_codes_match_an_independent_computation(engine, t):
    key = bytes(range(7, 27))
    assert otp.totp(key, t, algorithm="steam") == _steam_reference(key, t)
    assert otp.totp(otp.Key(key, "STEAM"), t, digits=5) == _steam_reference(key, t)


@pytest.mark.parametrize("period", [121, 3600, 86400])
def test_long_periods_use_the_period_counter(engine, period):
    t = 1793491200 + 17
    expected = _PyHOTP(base64.b32encode(SEEDS["sha1"]).decode()).at(t // period)
    assert otp.totp(SEEDS["sha1"], t, period=period) == expected


@given(key=st.binary(min_size=1, max_size=20), t=st.integers(0, 2**34))
def test_steam_property(key, t):
    code = otp.totp(key, t, algorithm="steam")
    assert code == _steam_reference(key, t)
    assert len(code) == 5


@given(
    key=st.binary(min_size=1, max_size=200),
    t=st.integers(0, 253402300799),
    digits=st.integers(6, 8),
    period=st.integers(1, 120),  # pyotp's own limit
    alg=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_totp_matches_pyotp_with_native_hashlib(key, t, digits, period, alg):
    assert otp.totp(key, t, digits, period, alg) == _expected_totp(key, t, digits, period, alg)


@given(
    key=st.binary(min_size=1, max_size=200),
    t=st.integers(0, 253402300799),
    digits=st.integers(6, 8),
    period=st.integers(1, 120),  # pyotp's own limit
    alg=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_totp_matches_pyotp_on_the_pure_path(key, t, digits, period, alg):
    # hypothesis and function-scoped fixtures do not mix: hide hashlib by hand.
    saved_lib, saved_cache = hmac._hashlib, hmac._native
    hmac._hashlib, hmac._native = None, {}
    try:
        key_obj = otp.Key(key, alg)
        assert not key_obj.uses_native
        expected = _expected_totp(key, t, digits, period, alg)
        assert otp.totp(key, t, digits, period, alg) == expected
        assert otp.totp(key_obj, t, digits, period) == expected
    finally:
        hmac._hashlib, hmac._native = saved_lib, saved_cache


@given(key=st.binary(min_size=1, max_size=100), counter=st.integers(0, 2**64 - 1))
def test_hotp_matches_pyotp_for_any_8_byte_counter(key, counter):
    ref = _PyHOTP(base64.b32encode(key).decode())
    assert otp.hotp(key, counter) == ref.at(counter)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"digits": 5}, "digits"),
        ({"digits": 9}, "digits"),
        ({"digits": "6"}, "digits"),
        ({"algorithm": "md5"}, "algorithm"),
        ({"algorithm": 1}, "algorithm"),
        ({"period": 0}, "period"),
        ({"period": -30}, "period"),
        ({"period": 1.5}, "period"),
    ],
)
def test_totp_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        otp.totp(b"key", 1700000000, **kwargs)


@pytest.mark.parametrize("key", [b"", "JBSWY3DP", None, 123])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValueError, match="key"):
        otp.totp(key, 0)
    with pytest.raises(ValueError, match="key"):
        otp.Key(key)


@pytest.mark.parametrize("t", [-1, 1.5, "1700000000", None, True])
def test_totp_rejects_bad_times(t):
    with pytest.raises(ValueError, match="time"):
        otp.totp(b"key", t)


@pytest.mark.parametrize("counter", [-1, 2**64, 0.0, "1"])
def test_hotp_rejects_bad_counters(counter):
    with pytest.raises(ValueError, match="counter"):
        otp.hotp(b"key", counter)


def test_key_and_mismatched_algorithm_is_an_error():
    with pytest.raises(ValueError, match="does not match"):
        otp.totp(otp.Key(b"key", "sha256"), 0, algorithm="sha1")


def test_error_messages_never_contain_the_key():
    secret = b"my-very-secret-key"
    for call in (
        lambda: otp.totp(secret, -1),
        lambda: otp.totp(secret, 0, digits=4),
        lambda: otp.hotp(secret, -5),
        lambda: otp.totp(secret, 0, period=0),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert "secret" not in str(info.value)


def test_seconds_left_counts_down_within_a_period():
    assert otp.seconds_left(1700000000) == 30 - 1700000000 % 30
    assert otp.seconds_left(60, 30) == 30
    assert otp.seconds_left(89, 30) == 1


COUNTER_EDGES = [
    0,
    1,
    255,
    256,
    2**16,
    2**30 - 1,
    2**30,
    2**31,
    2**32 - 1,
    2**32,
    2**40 + 12345,
    2**63,
    2**64 - 1,
]


@pytest.mark.parametrize("alg", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("native", [True, False])
def test_hmac_of_a_counter_matches_stdlib_at_byte_and_word_edges(alg, native):
    # Counters from 2**30 on leave the fast byte packing; from 2**32 on the first word
    # of the block is no longer zero.
    key = bytes(range(3, 40))
    mac = hmac.HMAC(key, alg, allow_native=native)
    for counter in COUNTER_EDGES:
        expected = std_hmac.new(key, counter.to_bytes(8, "big"), alg).digest()
        assert bytes(mac.digest_counter(counter)) == expected, counter


@given(
    key=st.binary(min_size=1, max_size=150),
    counter=st.integers(0, 2**64 - 1),
    alg=st.sampled_from(["sha1", "sha256", "sha512"]),
    native=st.booleans(),
)
def test_hmac_of_any_counter_matches_stdlib(key, counter, alg, native):
    mac = hmac.HMAC(key, alg, allow_native=native)
    expected = std_hmac.new(key, counter.to_bytes(8, "big"), alg).digest()
    assert bytes(mac.digest_counter(counter)) == expected


def test_counter_and_message_digests_interleave_on_one_key():
    # The pure path keeps the inner block's padding between calls; a message of another
    # length in between must not leave stale padding behind.
    key = b"interleave-key"
    mac = hmac.HMAC(key, "sha1", allow_native=False)
    for msg in (b"", b"12345678", b"x" * 100, b"abc", b"x" * 55, b"x" * 56):
        assert mac.digest(msg) == std_hmac.new(key, msg, "sha1").digest()
        counter = 59783040 + len(msg)
        expected = std_hmac.new(key, counter.to_bytes(8, "big"), "sha1").digest()
        assert bytes(mac.digest_counter(counter)) == expected


@pytest.mark.parametrize("native", [True, False])
def test_hmac_of_a_counter_past_8_bytes_is_refused(native):
    mac = hmac.HMAC(b"key", "sha1", allow_native=native)
    with pytest.raises(ValueError, match="8 bytes"):
        mac.digest_counter(2**64)
    # The refusal leaves the object usable.
    assert (
        bytes(mac.digest_counter(7))
        == std_hmac.new(b"key", (7).to_bytes(8, "big"), "sha1").digest()
    )
