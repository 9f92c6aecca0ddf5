import base64
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpfob import migration
from otpfob.migration import MigrationError
from otpfob.otpauth import Account

KEY = b"Hello!\xde\xad\xbe\xef"

# A one-account export built by hand from the protobuf encoding rules (field tags, varint
# lengths), independent of the module's encoder: secret=KEY, name "alice@example.com",
# issuer "Example", algorithm SHA1 (1), digits SIX (1), type TOTP (2); version 1,
# batch_size 1, batch_index 0, batch_id 123456 (varint c0 c4 07).
_OTP = (
    b"\x0a\x0a"
    + KEY
    + b"\x12\x11alice@example.com"
    + b"\x1a\x07Example"
    + b"\x20\x01\x28\x01\x30\x02"
)
HAND_PAYLOAD = b"\x0a" + bytes([len(_OTP)]) + _OTP + b"\x10\x01\x18\x01\x20\x00\x28\xc0\xc4\x07"


def test_hand_encoded_export_decodes():
    p = migration.decode_payload(HAND_PAYLOAD)
    assert [(a.issuer, a.name, a.algorithm, a.digits, a.period, a.secret) for a in p.accounts] == [
        ("Example", "alice@example.com", "SHA1", 6, 30, KEY)
    ]
    assert (p.version, p.batch_size, p.batch_index, p.batch_id) == (1, 1, 0, 123456)


def test_encoder_matches_hand_encoding():
    a = Account("alice@example.com", KEY, issuer="Example")
    assert migration.encode_payload([a], batch_id=123456) == HAND_PAYLOAD


def test_uri_with_percent_encoded_base64_decodes():
    uri = "otpauth-migration://offline?data=" + quote(
        base64.b64encode(HAND_PAYLOAD).decode(), safe=""
    )
    p = migration.decode_uri(uri)
    assert p.accounts[0].name == "alice@example.com"


def test_uri_with_raw_plus_and_missing_padding_decodes():
    data = base64.b64encode(HAND_PAYLOAD).decode().rstrip("=")
    p = migration.decode_uri("otpauth-migration://offline?data=" + data)
    assert p.accounts[0].secret == KEY


def test_issuer_prefix_in_name_is_split_off():
    entry = migration.encode_entry(secret=KEY, name="GitHub:octocat", issuer="GitHub")
    p = migration.decode_payload(migration.encode_payload([entry]))
    assert (p.accounts[0].issuer, p.accounts[0].name) == ("GitHub", "octocat")


def test_name_prefix_gives_issuer_when_issuer_missing():
    entry = migration.encode_entry(secret=KEY, name="GitHub:octocat")
    p = migration.decode_payload(migration.encode_payload([entry]))
    assert (p.accounts[0].issuer, p.accounts[0].name) == ("GitHub", "octocat")


def test_algorithms_and_eight_digits_map():
    entries = [
        migration.encode_entry(secret=KEY, name="n%d" % alg, algorithm=alg, digits=2)
        for alg in (1, 2, 3)
    ]
    p = migration.decode_payload(migration.encode_payload(entries))
    assert [(a.algorithm, a.digits) for a in p.accounts] == [
        ("SHA1", 8),
        ("SHA256", 8),
        ("SHA512", 8),
    ]


def test_hotp_entries_keep_their_counter_and_md5_is_skipped_and_named():
    entries = [
        migration.encode_entry(
            secret=KEY, name="counter", issuer="Bank", otp_type=migration.TYPE_HOTP, counter=77
        ),
        migration.encode_entry(secret=KEY, name="old", issuer="Legacy", algorithm=4),
        migration.encode_entry(secret=KEY, name="good", issuer="Fine"),
    ]
    p = migration.decode_payload(migration.encode_payload(entries))
    assert [(a.label, a.kind, a.counter) for a in p.accounts] == [
        ("Bank:counter", "hotp", 77),
        ("Fine:good", "totp", 0),
    ]
    assert len(p.skipped) == 1
    assert "Legacy:old" in p.skipped[0] and "MD5" in p.skipped[0]
    assert all("\xde\xad" not in s for s in p.skipped)


def test_unknown_fields_are_ignored():
    extra = b"\x38\x05" + b"\x42\x03abc"  # field 7 varint (counter), field 8 bytes
    p = migration.decode_payload(
        migration.encode_payload([migration.encode_entry(secret=KEY, name="a") + extra])
        + b"\x30\x09"
    )
    assert p.accounts[0].name == "a"


@pytest.mark.parametrize(
    "data, words",
    [
        (HAND_PAYLOAD[:20], "truncated"),
        (b"\x0a\xff", "truncated"),
        (b"\x0b", "wire type"),
        (b"\x00\x01", "field number 0"),
        (b"\x10" + b"\xff" * 11, "too long"),
    ],
)
def test_corrupt_payloads_raise_clear_errors(data, words):
    with pytest.raises(MigrationError, match=words):
        migration.decode_payload(data)


def test_bad_base64_and_bad_uris():
    with pytest.raises(MigrationError, match="base64"):
        migration.payload_bytes("otpauth-migration://offline?data=%%%%")
    with pytest.raises(MigrationError, match="no data"):
        migration.payload_bytes("otpauth-migration://offline?foo=1")
    with pytest.raises(MigrationError, match="offline"):
        migration.payload_bytes("otpauth-migration://online?data=AAAA")


def _accounts(n):
    return [
        Account("user%d" % i, bytes([i % 256, 1, 2, 3, 4, 5, 6, 7, 8, 9]), issuer="Svc%d" % (i % 7))
        for i in range(n)
    ]


def test_multi_code_export_merges_in_order():
    accounts = _accounts(25)
    uris = migration.export_uris(accounts, per_code=10, batch_id=77)
    assert len(uris) == 3
    payloads = [migration.decode_uri(u) for u in reversed(uris)]
    merged, skipped = migration.merge(payloads)
    assert merged == accounts and skipped == []


def test_incomplete_batch_names_missing_parts():
    uris = migration.export_uris(_accounts(25), per_code=10, batch_id=77)
    with pytest.raises(MigrationError) as e:
        migration.merge([migration.decode_uri(uris[0])])
    assert "have QR code 1 of 3" in str(e.value) and "missing 2 and 3" in str(e.value)
    with pytest.raises(MigrationError, match="missing 2;"):
        migration.merge([migration.decode_uri(uris[0]), migration.decode_uri(uris[2])])


def test_two_separate_exports_merge():
    a = migration.export_uris(_accounts(3), batch_id=1)
    b = migration.export_uris(_accounts(2)[::-1], batch_id=2)
    merged, _ = migration.merge([migration.decode_uri(u) for u in a + b])
    assert len(merged) == 5


def test_negative_batch_id_round_trips():
    uri = migration.encode_uri(migration.encode_payload(_accounts(1), batch_id=-5))
    assert migration.decode_uri(uri).batch_id == -5


@given(
    st.lists(
        st.tuples(
            st.binary(min_size=2, max_size=64),
            st.text(min_size=1, max_size=20).filter(
                lambda s: (
                    s.strip()
                    and ":" not in s
                    and all(ord(c) >= 0x20 and c != "\x7f" for c in s)
                    and len(s.encode()) <= 64
                    and s == s.strip()
                )
            ),
            st.sampled_from(["SHA1", "SHA256", "SHA512"]),
            st.sampled_from([6, 8]),
        ),
        max_size=12,
    )
)
def test_encode_decode_round_trip(rows):
    accounts = [
        Account(name, secret, issuer="Iss", algorithm=alg, digits=d)
        for secret, name, alg, d in rows
    ]
    p = migration.decode_uri(migration.encode_uri(migration.encode_payload(accounts)))
    assert p.accounts == accounts


@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_reader(data):
    try:
        migration.decode_payload(data)
    except MigrationError:
        pass
