"""What every importer shares: the file it reads (Source), what it found (Found), the
password it may need (Passwords) and the errors it raises.

An importer module has NAME (what --format takes), TITLE (what the error for an unknown
file lists), detect(source) -> bool and read(source, found). read() adds each account it
finds with found.add() or found.uri(), and names each entry it cannot use with
found.skip(): one bad entry never stops the rest of a file.
"""

import base64
import binascii
import functools
import io
import json
import zipfile

from ..otpauth import Account, OtpauthError, decode_secret, parse_uri


class ImportFileError(ValueError):
    """A file that cannot be read as the format it was taken for; the message says why."""


class PasswordNeeded(ImportFileError):
    """The file is encrypted and no password was given (and none can be asked for)."""


class WrongPassword(ImportFileError):
    """The password (or key) given does not open the file."""


class MissingExtra(ImportFileError):
    """The format needs a package that is not installed; the message names the extra."""


class Source:
    """One input file (or stdin): its bytes, and views of them made on first use."""

    def __init__(self, data, where):
        self.data = bytes(data)
        self.where = where
        self.encoding = None  # set by .text: "UTF-8", "UTF-16" or "Latin-1"

    @functools.cached_property
    def text(self):
        """The text (UTF-8, UTF-16 with a BOM, else Latin-1), or None for binary data."""
        from ..textfile import TextFileError, decode

        try:
            text, self.encoding = decode(self.data, self.where)
        except TextFileError:
            return None
        return text

    @functools.cached_property
    def json(self):
        """The parsed JSON document, or None when the file is not JSON."""
        text = self.text
        if text is None or text.lstrip()[:1] not in ("{", "["):
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    @functools.cached_property
    def zip(self):
        """The zip archive, or None."""
        if not self.data.startswith(b"PK\x03\x04"):
            return None
        try:
            return zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, OSError):
            return None

    @functools.cached_property
    def xml(self):
        """The root element of an XML document (namespaces as {uri}tag), or None."""
        text = self.text
        if text is None or not text.lstrip().startswith("<"):
            return None
        from xml.etree import ElementTree

        try:
            # The standard parser refuses DOCTYPE entity tricks only in part; exports never
            # carry a DOCTYPE, so a file that does is not taken for one.
            if "<!DOCTYPE" in text[:4096].upper():
                return None
            return ElementTree.fromstring(text.encode("utf-8"))
        except ElementTree.ParseError:
            return None

    def first_line(self):
        text = self.text or ""
        return text.lstrip("\ufeff").split("\n", 1)[0].strip()


class Passwords:
    """Gives the password of an encrypted export: from `given` (the --export-password-file
    or the environment), else from `ask(prompt)` (a hidden prompt) when there is one."""

    def __init__(self, given=None, ask=None, key=None):
        self.given = given
        self.ask = ask
        self.key = key  # a PSKC pre-shared key (bytes), when one was given
        self.used = False

    def get(self, what):
        self.used = True
        if self.given is not None:
            return self.given
        if self.ask is not None:
            password = self.ask("Password of %s" % what)
            if password:
                return password
        raise PasswordNeeded(
            "%s is encrypted: give its password with --export-password-file "
            "FILE or OTPFOB_EXPORT_PASSWORD, or run on a terminal to be "
            "asked" % what
        )


class Skip:
    __slots__ = ("label", "where", "reason")

    def __init__(self, label, where, reason):
        self.label = label or "(unnamed)"
        self.where = where
        self.reason = reason

    def line(self):
        return "%s (%s): %s" % (self.label, self.where, self.reason)


class Found:
    """Accounts (with where each came from) and skipped entries of one or more files."""

    def __init__(self, passwords=None, as_totp=False):
        self.items = []  # (Account, where)
        self.skipped = []  # Skip
        self.notices = []  # lines about the file as a whole
        self.payloads = []  # Google Authenticator export parts, merged at the end
        self.sequence = []  # ("item", index) and ("export", None), in file order
        self.passwords = passwords or Passwords()
        self.as_totp = as_totp

    def add(
        self,
        where,
        name,
        secret,
        issuer="",
        algorithm="SHA1",
        digits=6,
        period=30,
        kind="totp",
        counter=0,
    ):
        """An account from its fields; an entry the fob cannot hold becomes a Skip.
        `secret` is bytes, or base32 text."""
        label = "%s:%s" % (issuer, name) if issuer else name
        try:
            if isinstance(secret, str):
                secret = decode_secret(secret)
            if str(algorithm).upper() == "STEAM":
                digits = 5
            account = Account(
                (name or "").strip(),
                secret,
                issuer=(issuer or "").strip(),
                algorithm=algorithm,
                digits=digits,
                period=period,
                kind=kind,
                counter=counter,
            )
        except OtpauthError as exc:
            self.skip(label, where, str(exc))
            return None
        except (TypeError, ValueError) as exc:
            self.skip(label, where, "unreadable entry (%s)" % exc)
            return None
        return self.keep(account, where)

    def uri(self, text, where, name=None, issuer=None):
        """An account from an otpauth:// URI or a steam:// secret; `name`/`issuer` label it
        where the URI leaves them out (a steam:// secret names nothing)."""
        from ..otpauth import is_steam, parse_steam

        text = (text or "").strip()
        try:
            if is_steam(text):
                account = parse_steam(text, name or None, issuer)
            else:
                account = parse_uri(text, self.as_totp)
                if issuer and not account.issuer:
                    account = account.replace(issuer=issuer)
        except OtpauthError as exc:
            self.skip(
                uri_label(text) or ":".join(p for p in (issuer, name) if p) or None, where, str(exc)
            )
            return None
        return self.keep(account, where)

    def keep(self, account, where):
        from ..otpauth import steam_rule

        account = steam_rule(account, self.as_totp)
        self.sequence.append(("item", len(self.items)))
        self.items.append((account, where))
        return account

    def export(self, payload, where):
        """A part of a Google Authenticator export (merged with the others at the end)."""
        self.sequence.append(("export", None))
        self.payloads.append((payload, where))

    def skip(self, label, where, reason):
        self.skipped.append(Skip(label, where, reason))

    def notice(self, text):
        self.notices.append(text)


# --- small readers several formats use ----------------------------------------------------


def uri_label(text):
    """The label part of an otpauth:// URI ("Issuer:name"), for naming a URI that cannot be
    used; never the secret."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() != "otpauth":
        return ""
    return unquote(parts.path.lstrip("/"))[:80]


def b64(text, what="value"):
    """Standard or URL-safe base64, padding optional."""
    if not isinstance(text, str):
        raise ImportFileError("%s is not base64 text" % what)
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImportFileError("%s is not valid base64" % what) from None


def unhex(text, what="value"):
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise ImportFileError("%s is not valid hex" % what) from None


def signed_bytes(values, what="secret"):
    """A Java byte[] as JSON writes it: numbers from -128 to 127."""
    if not isinstance(values, list) or not all(
        isinstance(v, int) and -128 <= v <= 255 for v in values
    ):
        raise ImportFileError("%s is not a list of bytes" % what)
    return bytes(v & 0xFF for v in values)


def text_of(value):
    """A JSON field as text ('' for null)."""
    if value is None:
        return ""
    return str(value).strip()


def list_in(doc, key, test=None, every=False):
    """True when `doc` is a JSON object whose `key` is a list and, with `test`, any (or with
    `every`, every) item passes it: how the JSON formats recognise themselves."""
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return False
    if test is None:
        return True
    return all(map(test, items)) if every else any(map(test, items))


def items_of(source, doc, key, what):
    """The list `doc[key]`, or an ImportFileError saying the file is not `what`."""
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ImportFileError("%s: not %s" % (source.where, what))
    return items


def add_typed(found, where, issuer, name, secret, kind, fields):
    """Add an entry an app stores with its type ("TOTP", "HOTP" or "STEAM", any case) and
    its other fields in `fields` (algorithm, digits, period, counter); another type, or a
    value the fob cannot take, is skipped naming the entry."""
    label = "%s:%s" % (issuer, name) if issuer else name
    kind = kind.upper()
    if kind not in ("TOTP", "HOTP", "STEAM"):
        found.skip(label, where, "%s codes are not supported by the fob" % (kind or "untyped"))
        return
    try:
        found.add(
            where,
            name,
            secret,
            issuer=issuer,
            algorithm="STEAM" if kind == "STEAM" else text_of(fields.get("algorithm")) or "SHA1",
            digits=int_of(fields.get("digits"), 6),
            period=int_of(fields.get("period"), 30),
            kind="hotp" if kind == "HOTP" else "totp",
            counter=int_of(fields.get("counter"), 0),
        )
    except ValueError as exc:
        found.skip(label, where, str(exc))


def object_of(parent, key):
    """The JSON object `parent[key]`, or {} when it is missing or not an object."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def int_of(value, default):
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("%r is not a whole number" % (value,)) from None


def aes_gcm_open(key, nonce, data, aad=None, what="the file"):
    """AES-GCM decryption (data ends with the 16-byte tag); a wrong key is WrongPassword."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(nonce, data, aad)
    except InvalidTag:
        raise WrongPassword("wrong password for %s (it could not be decrypted)" % what) from None
    except ValueError as exc:
        raise ImportFileError("%s is damaged: %s" % (what, exc)) from None


def pbkdf2(password, salt, iterations, length=32, hash_name="sha256"):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kinds: dict[str, type[hashes.HashAlgorithm]] = {
        "sha1": hashes.SHA1,
        "sha256": hashes.SHA256,
        "sha512": hashes.SHA512,
    }
    algorithm = kinds[hash_name]()
    if isinstance(password, str):
        password = password.encode("utf-8")
    return PBKDF2HMAC(algorithm, length, salt, iterations).derive(password)


def check_json_account(doc, *keys):
    """True when `doc` is a dict with every key."""
    return isinstance(doc, dict) and all(k in doc for k in keys)
