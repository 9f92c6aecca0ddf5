"""Google Authenticator exports: otpauth-migration://offline?data=<base64 MigrationPayload>.

The payload is a small protobuf message; a hand-written reader for varint and
length-delimited fields is enough and keeps protobuf out of the dependencies.

    MigrationPayload: 1 otp_parameters (repeated message), 2 version, 3 batch_size,
                      4 batch_index, 5 batch_id
    OtpParameters:    1 secret (bytes), 2 name, 3 issuer, 4 algorithm, 5 digits, 6 type,
                      7 counter
"""

import base64
import binascii
from urllib.parse import parse_qsl, quote, urlsplit

from .otpauth import Account, OtpauthError

SCHEME = "otpauth-migration"

# Enum values of the export format.
ALGORITHM_FROM_ENUM = {0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512", 4: "MD5"}
ALGORITHM_TO_ENUM = {"SHA1": 1, "SHA256": 2, "SHA512": 3}
DIGITS_FROM_ENUM = {0: 6, 1: 6, 2: 8}
DIGITS_TO_ENUM = {6: 1, 8: 2}
TYPE_HOTP = 1
TYPE_TOTP = 2
# More QR codes than one export ever spans (the app puts about 10 accounts in each).
MAX_PARTS = 1000

_VARINT = 0
_I64 = 1
_LEN = 2
_I32 = 5


class MigrationError(OtpauthError):
    """An export that cannot be read or is incomplete."""


class Payload:
    """One decoded export QR: its accounts, skipped entries and batch position."""

    def __init__(self, accounts, skipped, version, batch_size, batch_index, batch_id):
        self.accounts = accounts
        self.skipped = skipped  # human-readable notes on entries not imported
        self.version = version
        self.batch_size = batch_size
        self.batch_index = batch_index
        self.batch_id = batch_id


# --- protobuf wire format ------------------------------------------------------------------


def _read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise MigrationError("export data is truncated (inside a number)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise MigrationError("export data is corrupt (number too long)")


def _fields(buf):
    """Yield (field_number, wire_type, value) over one message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise MigrationError("export data is corrupt (field number 0)")
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _LEN:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise MigrationError("export data is truncated (field %d)" % field)
            value = bytes(buf[pos : pos + length])
            pos += length
        elif wire == _I64:
            if pos + 8 > len(buf):
                raise MigrationError("export data is truncated (field %d)" % field)
            value = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == _I32:
            if pos + 4 > len(buf):
                raise MigrationError("export data is truncated (field %d)" % field)
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise MigrationError("export data is corrupt (wire type %d)" % wire)
        yield field, wire, value


def _varint(n):
    if n < 0:
        n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_varint(field, value):
    return _varint(field << 3 | _VARINT) + _varint(value)


def _field_bytes(field, data):
    return _varint(field << 3 | _LEN) + _varint(len(data)) + data


def _text(value, what):
    if not isinstance(value, bytes):
        raise MigrationError("export data is corrupt (%s has the wrong type)" % what)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MigrationError("export data is corrupt (%s is not UTF-8)" % what) from None


# --- decoding ------------------------------------------------------------------------------


def _decode_otp(buf):
    entry = {
        "secret": b"",
        "name": "",
        "issuer": "",
        "algorithm": 0,
        "digits": 0,
        "type": 0,
        "counter": 0,
    }
    for field, wire, value in _fields(buf):
        if field == 1 and wire == _LEN:
            entry["secret"] = value
        elif field == 2 and wire == _LEN:
            entry["name"] = _text(value, "name")
        elif field == 3 and wire == _LEN:
            entry["issuer"] = _text(value, "issuer")
        elif field == 4 and wire == _VARINT:
            entry["algorithm"] = value
        elif field == 5 and wire == _VARINT:
            entry["digits"] = value
        elif field == 6 and wire == _VARINT:
            entry["type"] = value
        elif field == 7 and wire == _VARINT:
            entry["counter"] = value
    return entry


def _entry_label(entry):
    return "%s:%s" % (entry["issuer"], entry["name"]) if entry["issuer"] else entry["name"]


def _to_account(entry):
    """An Account, or a string saying why this entry cannot go on the fob."""
    label = _entry_label(entry) or "(unnamed)"
    if entry["type"] not in (0, TYPE_TOTP, TYPE_HOTP):
        return "%s: unknown OTP type %d" % (label, entry["type"])
    algorithm = ALGORITHM_FROM_ENUM.get(entry["algorithm"])
    if algorithm is None or algorithm == "MD5":
        return "%s: algorithm %s is not supported" % (label, algorithm or entry["algorithm"])
    digits = DIGITS_FROM_ENUM.get(entry["digits"])
    if digits is None:
        return "%s: unknown digits value %d" % (label, entry["digits"])
    name = entry["name"].strip()
    issuer = entry["issuer"].strip()
    # The app stores the label as "Issuer:account" in name when it has both.
    if ":" in name:
        prefix, rest = name.split(":", 1)
        if not issuer or prefix.strip() == issuer:
            issuer = issuer or prefix.strip()
            name = rest.strip()
    hotp = entry["type"] == TYPE_HOTP
    try:
        return Account(
            name,
            entry["secret"],
            issuer=issuer,
            algorithm=algorithm,
            digits=digits,
            period=30,
            kind="hotp" if hotp else "totp",
            counter=entry["counter"] if hotp else 0,
        )
    except OtpauthError as exc:
        return "%s: %s" % (label, exc)


def decode_payload(data):
    """Decode the raw protobuf bytes of one export QR."""
    entries = []
    version = batch_size = batch_index = batch_id = 0
    for field, wire, value in _fields(data):
        if field == 1 and wire == _LEN:
            entries.append(_decode_otp(value))
        elif field == 2 and wire == _VARINT:
            version = value
        elif field == 3 and wire == _VARINT:
            batch_size = value
        elif field == 4 and wire == _VARINT:
            batch_index = value
        elif field == 5 and wire == _VARINT:
            # int32 on the wire as a varint: negative ids arrive as 64-bit two's complement.
            batch_id = value - (1 << 64) if value >= 1 << 63 else value
    accounts = []
    skipped = []
    for entry in entries:
        result = _to_account(entry)
        if isinstance(result, str):
            skipped.append(result)
        else:
            accounts.append(result)
    return Payload(accounts, skipped, version, batch_size or 1, batch_index, batch_id)


def is_migration_uri(text):
    return text.strip().lower().startswith(SCHEME + ":")


def payload_bytes(uri):
    """The raw payload from an otpauth-migration://offline?data=... URI."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an unclosed "[" in the host part
        raise MigrationError("not a valid export URI: %s" % exc) from None
    if parts.scheme.lower() != SCHEME:
        raise MigrationError("not a Google Authenticator export (otpauth-migration://)")
    if parts.netloc.lower() != "offline":
        raise MigrationError("export URI must be otpauth-migration://offline?data=...")
    # parse_qsl would turn a literal '+' of unencoded base64 into a space; undo that below.
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    data = params.get("data", "").strip().replace(" ", "+")
    if not data:
        raise MigrationError("export URI has no data parameter")
    data = data.replace("-", "+").replace("_", "/")
    data += "=" * (-len(data) % 4)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MigrationError("export data is not valid base64") from None


def decode_uri(uri):
    return decode_payload(payload_bytes(uri))


def merge(payloads):
    """Accounts from several export QRs, refusing an incomplete multi-QR batch.

    Returns (accounts, skipped). A batch is complete when every index 0..batch_size-1 of its
    batch_id is present; the error names the missing parts (numbered from 1 as the app does).
    """
    batches = {}
    for p in payloads:
        if p.batch_size > MAX_PARTS:  # the missing-parts check below counts every one
            raise MigrationError(
                "export claims %d QR codes; at most %d are read" % (p.batch_size, MAX_PARTS)
            )
        batch = batches.setdefault(p.batch_id, {"size": p.batch_size, "parts": {}})
        if p.batch_size != batch["size"]:
            raise MigrationError(
                "export parts disagree on the number of QR codes (%d vs %d)"
                % (batch["size"], p.batch_size)
            )
        if not 0 <= p.batch_index < p.batch_size:
            raise MigrationError(
                "export part %d of %d is out of range" % (p.batch_index + 1, p.batch_size)
            )
        batch["parts"][p.batch_index] = p
    accounts = []
    skipped = []
    for batch in batches.values():
        missing = [i + 1 for i in range(batch["size"]) if i not in batch["parts"]]
        if missing:
            have = sorted(i + 1 for i in batch["parts"])
            raise MigrationError(
                "incomplete export: have QR code%s %s of %d, missing %s; scan every code of "
                "the export and import them together"
                % ("s" if len(have) > 1 else "", _join(have), batch["size"], _join(missing))
            )
        for i in range(batch["size"]):
            accounts.extend(batch["parts"][i].accounts)
            skipped.extend(batch["parts"][i].skipped)
    return accounts, skipped


def _join(numbers):
    numbers = [str(n) for n in numbers]
    if len(numbers) == 1:
        return numbers[0]
    return ", ".join(numbers[:-1]) + " and " + numbers[-1]


# --- encoding (exports for tests and round trips) --------------------------------------------


def encode_entry(
    account=None,
    secret=b"",
    name="",
    issuer="",
    algorithm=None,
    digits=None,
    otp_type=TYPE_TOTP,
    counter=None,
):
    if account is not None:
        secret, name, issuer = account.secret, account.name, account.issuer
        algorithm = ALGORITHM_TO_ENUM[account.algorithm]
        digits = DIGITS_TO_ENUM[account.digits]
        if account.is_hotp:
            otp_type, counter = TYPE_HOTP, account.counter
    out = _field_bytes(1, bytes(secret))
    if name:
        out += _field_bytes(2, name.encode("utf-8"))
    if issuer:
        out += _field_bytes(3, issuer.encode("utf-8"))
    out += _field_varint(4, 1 if algorithm is None else algorithm)
    out += _field_varint(5, 1 if digits is None else digits)
    out += _field_varint(6, otp_type)
    if counter is not None:
        out += _field_varint(7, counter)
    return out


def encode_payload(entries, batch_size=1, batch_index=0, batch_id=0, version=1):
    """Protobuf bytes of a MigrationPayload; entries are Accounts or encode_entry() bytes."""
    out = b""
    for e in entries:
        out += _field_bytes(1, e if isinstance(e, bytes) else encode_entry(e))
    out += _field_varint(2, version)
    out += _field_varint(3, batch_size)
    out += _field_varint(4, batch_index)
    out += _field_varint(5, batch_id)
    return out


def encode_uri(payload):
    data = base64.b64encode(payload).decode("ascii")
    return "%s://offline?data=%s" % (SCHEME, quote(data, safe=""))


def export_uris(accounts, per_code=10, batch_id=1):
    """Split accounts over several export QR URIs, as the app does for large exports."""
    chunks = [accounts[i : i + per_code] for i in range(0, len(accounts), per_code)] or [[]]
    return [
        encode_uri(encode_payload(chunk, len(chunks), i, batch_id))
        for i, chunk in enumerate(chunks)
    ]
