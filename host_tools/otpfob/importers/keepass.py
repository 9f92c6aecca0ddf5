"""KeePass and KeePassXC databases (.kdbx, read with pykeepass: `pip install
otpfob[keepass]`). KeePassXC keeps an entry's TOTP as an otpauth:// URI in the "otp"
attribute (older versions: "TOTP Seed" with "TOTP Settings" "period;digits", digits "S"
for Steam); KeePass 2.47+ keeps TimeOtp-Secret (-Base32, -Hex, -Base64), TimeOtp-Length,
TimeOtp-Period and TimeOtp-Algorithm (HMAC-SHA-1/-256/-512), and for HOTP HmacOtp-Secret
(-Base32, -Hex, -Base64) with HmacOtp-Counter. The database's password comes like any
export's; a key file is not supported."""

from .base import ImportFileError, WrongPassword, b64, int_of, text_of, unhex

NAME = "keepass"
TITLE = "KeePass / KeePassXC database (.kdbx; needs otpfob[keepass])"

MAGIC = bytes.fromhex("03d9a29a67fb4bb5")
ALGORITHMS = {"HMAC-SHA-1": "SHA1", "HMAC-SHA-256": "SHA256", "HMAC-SHA-512": "SHA512"}


def detect(source):
    return source.data[:8] == MAGIC


def _module():
    try:
        import pykeepass
    except ImportError:
        from .base import MissingExtra

        raise MissingExtra(
            "reading KeePass databases needs pykeepass: pip install "
            "'otpfob[keepass]' (pipx: pipx inject otpfob pykeepass)"
        ) from None
    return pykeepass


def read(source, found):
    import io

    pk = _module()
    from pykeepass.exceptions import CredentialsError

    password = found.passwords.get(source.where)
    try:
        db = pk.PyKeePass(io.BytesIO(source.data), password=password)
    except CredentialsError:
        raise WrongPassword(
            "wrong password for %s (or it needs a key file, which otpfob "
            "does not take)" % source.where
        ) from None
    except Exception as exc:  # noqa: BLE001 - pykeepass raises many kinds for a bad file
        raise ImportFileError(
            "%s: not a readable KeePass database (%s)" % (source.where, exc)
        ) from None
    for entry in db.entries:
        group = entry.group
        if (
            group is not None
            and db.recyclebin_group is not None
            and (group.uuid == db.recyclebin_group.uuid)
        ):
            continue
        _entry(entry, source.where, found)


def _secret(fields, prefix):
    for suffix, decode in (
        ("-Secret-Base32", None),
        ("-Secret-Hex", unhex),
        ("-Secret-Base64", b64),
        ("-Secret", None),
    ):
        value = text_of(fields.get(prefix + suffix))
        if value:
            if decode is None:
                return (
                    value.replace(" ", "") if suffix.endswith("Base32") else value.encode("utf-8")
                )
            return decode(value, prefix + suffix)
    return None


def _entry(entry, where, found):
    fields = dict(entry.custom_properties or {})
    title, user = text_of(entry.title), text_of(entry.username)
    where = "%s entry %r" % (where, title or user)
    otp = text_of(getattr(entry, "otp", None) or fields.get("otp"))
    if otp:
        found.uri(otp, where, name=user or title or None, issuer=title or None)
        return
    issuer, name = (title, user) if user else ("", title)
    try:
        if fields.get("TOTP Seed"):
            period, _, digits = text_of(fields.get("TOTP Settings") or "30;6").partition(";")
            steam = digits.strip().upper() == "S"
            found.add(
                where,
                name,
                text_of(fields["TOTP Seed"]).replace(" ", ""),
                issuer=issuer,
                algorithm="STEAM" if steam else "SHA1",
                digits=5 if steam else int_of(digits, 6),
                period=int_of(period, 30),
            )
            return
        secret = _secret(fields, "TimeOtp")
        if secret is not None:
            algorithm = ALGORITHMS.get(text_of(fields.get("TimeOtp-Algorithm")) or "HMAC-SHA-1")
            if algorithm is None:
                found.skip(
                    title, where, "algorithm %s is not supported" % fields.get("TimeOtp-Algorithm")
                )
                return
            found.add(
                where,
                name,
                secret,
                issuer=issuer,
                algorithm=algorithm,
                digits=int_of(fields.get("TimeOtp-Length"), 6),
                period=int_of(fields.get("TimeOtp-Period"), 30),
            )
            return
        secret = _secret(fields, "HmacOtp")
        if secret is not None:
            found.add(
                where,
                name,
                secret,
                issuer=issuer,
                kind="hotp",
                counter=int_of(fields.get("HmacOtp-Counter"), 0),
            )
    except (ValueError, ImportFileError) as exc:
        found.skip(title, where, str(exc))
