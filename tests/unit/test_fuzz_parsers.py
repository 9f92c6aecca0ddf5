"""Hostile input at the parsers a secret passes through: the firmware's base32 decoder, the
host's otpauth:// parser and base32 reader, and the Google Authenticator export reader.

Each may only return a result or raise its documented error (ValueError from
fob.base32; OtpauthError from otpauth; MigrationError, an OtpauthError, from migration)
with a message, within a bounded time, and no message may quote the input's secret.

Fast under the default hypothesis profile; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs it long.
"""

import base64
import signal
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fob import base32
from otpfob import migration
from otpfob.migration import MigrationError
from otpfob.otpauth import (
    Account,
    OtpauthError,
    decode_secret,
    encode_secret,
    parse_lines,
    parse_uri,
)

# One input must be handled in well under this (real seconds, on a slow shared machine);
# a hang is cut off by SIGALRM after HANG_SECONDS.
CALL_SECONDS = 1.0
HANG_SECONDS = 10
FUZZ = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("no answer within %d s" % HANG_SECONDS)


def bounded(fn, *args):
    """fn(*args) -> (result or None, the exception or None), failing on a hang."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    started = time.monotonic()
    try:
        try:
            return fn(*args), None
        except Hang:
            raise
        except Exception as e:  # checked by the caller against the documented type
            return None, e
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        took = time.monotonic() - started
        assert took < CALL_SECONDS, "%s took %.2f s" % (fn.__name__, took)


# Leaks known and pinned by an xfail test at the end of this file (none now): while one
# stands the fuzzer does not report it again.
KNOWN_LEAKS = ()


def check_error(exc, kind, secret_text="", rest=""):
    """``exc`` is None or a ``kind`` with a message that does not quote ``secret_text``
    (8 characters in a row; runs also found in ``rest``, the other input, may be quoted
    from there)."""
    if exc is None:
        return
    assert type(exc) is kind or (isinstance(exc, kind) and kind is not ValueError), (
        "%s raised %s: %s" % (kind.__name__, type(exc).__name__, exc)
    )
    message = str(exc)
    assert message.strip(), "%s without a message" % type(exc).__name__
    if message.startswith(KNOWN_LEAKS):
        return
    clean = "".join(c for c in secret_text.upper() if c.isalnum())
    rest = "".join(c for c in rest.upper() if c.isalnum())
    for i in range(len(clean) - 7):
        run = clean[i : i + 8]
        assert run not in message.upper() or run in rest, "the error quotes the secret: " + message


# -- base32 ------------------------------------------------------------------------------

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
b32_texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=B32 + B32.lower() + " -=\t\r\n018ıſ", max_size=300),
    st.binary(max_size=300).map(lambda b: base64.b32encode(b).decode()),
    st.tuples(st.binary(min_size=1, max_size=100), st.integers(0, 200), st.characters()).map(
        lambda t: _insert(base64.b32encode(t[0]).decode(), t[1], t[2])
    ),
)


def _insert(text, pos, ch):
    pos %= len(text) + 1
    return text[:pos] + ch + text[pos:]


@pytest.mark.fuzz
@FUZZ
@given(st.one_of(b32_texts, st.binary(max_size=300), st.none(), st.integers()))
def test_fuzz_firmware_base32_decodes_or_says_why(text):
    out, exc = bounded(base32.decode, text)
    check_error(exc, ValueError, text if isinstance(text, str) else "")
    if exc is None:
        assert isinstance(out, bytes) and out
        # What it accepted is what the standard library reads from the same characters.
        clean = text.decode() if isinstance(text, bytes) else text
        data = "".join(c for c in clean if c not in " -\t\r\n=").upper()
        assert base64.b32decode(data + "=" * (-len(data) % 8)) == out


@pytest.mark.fuzz
@FUZZ
@given(b32_texts)
def test_fuzz_host_base32_agrees_with_the_firmware(text):
    host, host_exc = bounded(decode_secret, text)
    check_error(host_exc, OtpauthError, text)
    fob, fob_exc = bounded(base32.decode, text)
    if host_exc is None and fob_exc is None:
        assert fob == host
    if host_exc is None and 2 <= len(host) <= 128:
        # What the CLI sends for an accepted secret reads back as the same bytes on the fob.
        assert base32.decode(encode_secret(host)) == host


# -- otpauth:// ------------------------------------------------------------------------------

uri_parts = st.sampled_from(
    [
        "otpauth://totp/",
        "otpauth://TOTP/",
        "otpauth://hotp/",
        "otpauth://steam/",
        "otpauth-migration://offline?data=",
        "otpauth:/totp/",
        "otpauth://totp",
        "http://totp/",
        "otpauth://[totp/",
        "otpauth://totp:99999999/",
        "",
        " ",
    ]
)
labels = st.text(max_size=80) | st.sampled_from(
    ["Example:alice", "Example%3Aalice", ":", "%3A", "a:b:c", "%", "%zz", "%ff%fe"]
)
param_names = st.sampled_from(
    [
        "secret",
        "issuer",
        "algorithm",
        "digits",
        "period",
        "encoder",
        "counter",
        "SECRET",
        "image",
        "",
    ]
)
param_values = st.one_of(
    st.text(max_size=60),
    b32_texts,
    st.sampled_from(
        [
            "6",
            "7",
            "8",
            "5",
            "0",
            "-1",
            "30",
            "86400",
            "86401",
            "1e3",
            "٣٠",
            "9" * 5000,
            "SHA1",
            "sha256",
            "SHA-512",
            "MD5",
            "steam",
            "STEAM",
            "",
        ]
    ),
)


@st.composite
def uris(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=300))
    params = draw(st.lists(st.tuples(param_names, param_values), max_size=7))
    sep = draw(st.sampled_from(["&", ";", "&&"]))
    enc = draw(st.booleans())
    query = sep.join(
        "%s=%s" % (k, quote(v, safe="", errors="surrogatepass") if enc else v) for k, v in params
    )
    return draw(uri_parts) + draw(labels) + draw(st.sampled_from(["?", "#", "?&", ""])) + query


@pytest.mark.fuzz
@FUZZ
@given(uris())
def test_fuzz_otpauth_uri_parses_or_says_why(uri):
    account, exc = bounded(parse_uri, uri)
    secret = _secret_in(uri)
    check_error(exc, OtpauthError, secret, uri.replace(secret, "", 1))
    if exc is None:
        assert isinstance(account, Account)
        account.validate()
        assert 2 <= len(account.secret) <= 128


def _secret_in(uri):
    low = uri.lower()
    at = low.find("secret=")
    return uri[at + 7 :].split("&")[0] if at >= 0 else ""


@pytest.mark.fuzz
@FUZZ
@given(st.lists(uris() | st.sampled_from(["", "# comment", "  "]), max_size=6))
def test_fuzz_otpauth_lines_parse_or_name_the_line(lines):
    out, exc = bounded(parse_lines, "\n".join(lines))
    check_error(exc, OtpauthError)
    if exc is not None:
        assert str(exc).startswith("line ")


# -- Google Authenticator exports --------------------------------------------------------------

varints = st.one_of(
    st.integers(0, 10), st.integers(0, 2**64 - 1), st.sampled_from([2**31, 2**32, 2**63, 2**64 - 1])
)


@st.composite
def entries(draw):
    secret = draw(st.binary(max_size=140))
    name = draw(st.text(max_size=70))
    issuer = draw(st.text(max_size=70))
    out = migration.encode_entry(
        secret=secret,
        name=name,
        issuer=issuer,
        algorithm=draw(varints),
        digits=draw(varints),
        otp_type=draw(varints),
    )
    if draw(st.integers(0, 4)) == 0:
        out += draw(st.binary(max_size=20))  # unknown or broken trailing fields
    return out


@st.composite
def payloads(draw):
    data = migration.encode_payload(
        draw(st.lists(entries(), max_size=4)),
        batch_size=draw(varints),
        batch_index=draw(varints),
        batch_id=draw(varints),
        version=draw(varints),
    )
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            data = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1 :]
        elif op == 1:
            data = data[:pos]
        else:
            data = data[:pos] + draw(st.binary(max_size=8)) + data[pos:]
    return data


def _decode_and_merge(uri_list):
    return migration.merge([migration.decode_uri(u) for u in uri_list])


@pytest.mark.fuzz
@FUZZ
@given(st.lists(payloads() | st.binary(max_size=200), min_size=1, max_size=3))
def test_fuzz_migration_export_reads_or_says_why(datas):
    uri_list = [migration.encode_uri(d) for d in datas]
    out, exc = bounded(_decode_and_merge, uri_list)
    check_error(exc, MigrationError)
    if exc is None:
        accounts, skipped = out
        for a in accounts:
            assert isinstance(a, Account)
            a.validate()
        for note in skipped:
            assert isinstance(note, str) and note


@pytest.mark.fuzz
@FUZZ
@given(
    st.text(max_size=300)
    | st.sampled_from(
        [
            "otpauth-migration://offline?data=",
            "otpauth-migration://[offline?data=AA",
            "otpauth-migration://offline?data=%%%",
            "otpauth-migration://offline?data=A",
            "otpauth-migration://online?data=AAAA",
        ]
    )
)
def test_fuzz_migration_uri_text_reads_or_says_why(text):
    out, exc = bounded(migration.decode_uri, text)
    check_error(exc, MigrationError)


# -- what the fuzzing found, kept as plain cases --------------------------------------------


def test_export_claiming_a_huge_number_of_codes_is_refused_at_once():
    # merge() used to list every missing part of a batch_size it took on trust: a crafted
    # QR code with batch_size 2^40 hung `otpfob import`.
    uri = migration.encode_uri(migration.encode_payload([], batch_size=2**40, batch_id=1))
    out, exc = bounded(_decode_and_merge, [uri])
    check_error(exc, MigrationError)
    assert exc is not None and "QR codes" in str(exc)


def test_export_uri_with_a_broken_host_part_is_a_clear_error():
    # urlsplit's ValueError escaped as a traceback from `otpfob import`.
    out, exc = bounded(migration.decode_uri, "otpauth-migration://[offline?data=AA")
    check_error(exc, MigrationError)
    assert exc is not None


def test_a_uri_with_the_secret_in_its_host_part_is_not_quoted():
    secret = "JBSWY3DPEHPK3PXP"
    with pytest.raises(OtpauthError) as e:
        parse_uri("otpauth://totp&secret=" + secret)
    assert secret[:8] not in str(e.value)
