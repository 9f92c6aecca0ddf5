"""Importers: every export format otpfob reads, one module each behind one interface
(see base.py), and the rules every import follows whatever the format.

    collect(inputs, passwords, fmt, as_totp) -> Collected

reads files, stdin and URIs given on the command line, recognises each file's format by
its content (or takes `fmt`, a NAME below), and returns the accounts found, in order, with
where each came from; entries the fob cannot hold as skipped lines; identical entries
counted once; and two different secrets under one label as a conflict naming both
places. `otpfob import`, `otpfob fleet` and the web page's local server use the same
function.
"""

import importlib
import os
from typing import TYPE_CHECKING

from .base import (
    Found,
    ImportFileError,
    MissingExtra,
    PasswordNeeded,
    Passwords,
    Skip,
    Source,
    WrongPassword,
)

if TYPE_CHECKING:
    from ..otpauth import Account

__all__ = [
    "FORMATS",
    "Collected",
    "ImportFileError",
    "MissingExtra",
    "PasswordNeeded",
    "Passwords",
    "Skip",
    "Source",
    "WrongPassword",
    "collect",
    "describe",
    "detect",
    "format_names",
    "module",
]

# Detection order: the most specific content checks first; the URI list (any text whose
# first line is a URI) and images last.
FORMATS = (
    "aegis",
    "twofas",
    "bitwarden",
    "freeotp_plus",
    "freeotp",
    "andotp",
    "authpro",
    "proton",
    "lastpass",
    "steam",
    "ente",
    "onepassword",
    "keepass",
    "pskc",
    "entra",
    "google",
    "uri_list",
    "image",
)


def module(name):
    return importlib.import_module("%s.%s" % (__name__, name))


def format_names():
    """{--format NAME: module name}."""
    return {module(m).NAME: m for m in FORMATS}


def detect(source):
    """The importer module for a source, or None."""
    for name in FORMATS:
        mod = module(name)
        if mod.detect(source):
            return mod
    from . import andotp

    if source.json is None and andotp.looks_encrypted(source.data) and not _known_binary(source):
        return andotp
    return None


_MAGIC = (
    (
        b"SQLite format 3\x00",
        "a SQLite database (an app's own storage: export from the app instead)",
    ),
    (b"%PDF", "a PDF document (print-outs of QR codes: take a screenshot of each code instead)"),
    (b"\x1f\x8b", "a gzip-compressed file (unpack it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first)"),
    (b"Rar!", "a RAR archive (unpack it first)"),
    (b"\x03\xd9\xa2\x9a", "a KeePass 1.x or unknown KeePass database"),
    (b"-----BEGIN PGP", "an OpenPGP-encrypted file (decrypt it first)"),
    (b"age-encryption.org", "an age-encrypted file (decrypt it first)"),
)


def _known_binary(source):
    return any(source.data.startswith(m) for m, _ in _MAGIC) or source.zip is not None


def describe(source):
    """What an unrecognised file looks like, in a few words."""
    data = source.data
    if not data.strip():
        return "an empty file"
    for magic, text in _MAGIC:
        if data.startswith(magic):
            return text
    z = source.zip
    if z is not None:
        names = z.namelist()
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        return "a zip without export.data (it holds %s)" % (shown or "nothing")
    if data.startswith(b"PK"):
        return "a damaged zip archive"
    doc = source.json
    if isinstance(doc, dict):
        keys = ", ".join(sorted(str(k) for k in doc)[:8])
        return "JSON that matches no supported export (its keys: %s)" % (keys or "none")
    if isinstance(doc, list):
        return "a JSON list that matches no supported export"
    root = source.xml
    if root is not None:
        tag = root.tag.rsplit("}", 1)[-1]
        if tag.lower() == "html":
            return "an HTML page (an app's printable export? export as JSON or text instead)"
        return "XML whose root element is <%s>, not a supported export" % tag
    text = source.text
    if text is None or "\x00" in text[:4096]:
        return "binary data of no known kind"
    low = text.lstrip().lower()
    if low.startswith(("<!doctype html", "<html")):
        return "an HTML page (an app's printable export? export as JSON or text instead)"
    first = source.first_line()
    if "," in first or ";" in first:
        return "a CSV file whose columns (%s) match no supported export" % first[:80]
    return "text whose first line is not an otpauth:// URI"


def supported():
    return "; ".join(module(m).TITLE for m in FORMATS)


class Collected:
    """The outcome of reading every input: what can go to the fob and what cannot."""

    def __init__(self):
        self.items = []  # (Account, where), one per distinct account
        self.skipped = []  # Skip
        self.notices = []  # lines for the person importing
        self.conflicts = []  # (label, [where, ...]): different secrets under one label
        self.formats = []  # (where, format TITLE)


def _identity(account):
    return (account.issuer.lower(), account.name.lower())


def _fields(account):
    return (
        account.secret,
        account.algorithm,
        account.digits,
        account.period,
        account.kind,
        account.counter,
        account.issuer,
        account.name,
    )


def collect(inputs, passwords=None, fmt=None, as_totp=False):
    """Read `inputs`: each is ("uri", text, where) for a URI given as such, ("file", path)
    ("-" for stdin), or ("data", bytes or text, where) for a file already in memory (an
    upload to the web page's server). ImportFileError (and its kinds) for a file that
    cannot be read."""
    from .. import migration
    from . import uri_list

    found = Found(passwords, as_totp)
    out = Collected()
    forced = None
    if fmt is not None:
        names = format_names()
        if fmt not in names:
            raise ImportFileError(
                "unknown format %r; the formats are: %s" % (fmt, ", ".join(sorted(names)))
            )
        forced = module(names[fmt])
    for kind, *rest in inputs:
        if kind == "uri":
            text, where = rest
            uri_list.take(found, text, where)
        else:
            if kind == "file":
                path = rest[0]
                source = _read_file(path)
            else:
                data, where = rest
                source = Source(data.encode("utf-8") if isinstance(data, str) else data, where)
            mod = forced or detect(source)
            if mod is None:
                raise ImportFileError(
                    "%s is %s. otpfob reads: %s. --format NAME forces one "
                    "(%s)"
                    % (
                        source.where,
                        describe(source),
                        supported(),
                        ", ".join(sorted(format_names())),
                    )
                )
            mod.read(source, found)
            out.formats.append((source.where, mod.TITLE))
            if source.encoding == "Latin-1" and mod.NAME != "image":
                out.notices.append(
                    "%s is not UTF-8; read it as Latin-1 (save it as UTF-8 if "
                    "names look wrong)" % source.where
                )
    # Google Authenticator exports: one batch may span several QR codes and files, so
    # they are merged at the end and put in where the first of them was.
    exported = []
    if found.payloads:
        from ..otpauth import steam_rule

        accounts, skipped = migration.merge([p for p, _ in found.payloads])
        where = {id(a): w for p, w in found.payloads for a in p.accounts}
        for note in skipped:
            label, _, reason = note.partition(": ")
            found.skip(label, "Google Authenticator export", reason or note)
        exported = [
            (steam_rule(a, as_totp), where.get(id(a), "Google Authenticator export"))
            for a in accounts
        ]
    items = []
    for kind, i in found.sequence:
        if kind == "item":
            items.append(found.items[i])
        else:
            items.extend(exported)
            exported = []
    _dedupe(items, out)
    out.skipped = found.skipped
    out.notices.extend(found.notices)
    return out


def _dedupe(items, out):
    """Identical entries count once (with a notice); different entries under one label
    are conflicts, named with every place they came from, and none of them is kept."""
    seen: dict[tuple[str, str], tuple[Account, str]] = {}
    repeats: dict[tuple[str, str], list[str]] = {}
    conflicts: dict[tuple[str, str], list[str]] = {}
    for account, where in items:
        key = _identity(account)
        first = seen.get(key)
        if first is None:
            seen[key] = (account, where)
            continue
        if _fields(first[0]) == _fields(account) and key not in conflicts:
            repeats.setdefault(key, [first[0].label, first[1]]).append(where)
            continue
        conflicts.setdefault(key, [first[0].label, first[1]]).append(where)
    for key, (label, first_where, *more) in repeats.items():
        if key not in conflicts:
            out.notices.append(
                "%s appears %d times with the same secret (%s and %s); "
                "counted once" % (label, len(more) + 1, first_where, _join(more))
            )
    for label, *wheres in conflicts.values():
        out.conflicts.append((label, _unique(wheres)))
    out.items = [(a, w) for key, (a, w) in seen.items() if key not in conflicts]


def _unique(words):
    out = []
    for w in words:
        if w not in out:
            out.append(w)
    return out


def _join(words):
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _read_file(path):
    if path == "-":
        import sys

        return Source(sys.stdin.buffer.read(), "stdin")
    if os.path.isdir(path):
        raise ImportFileError(
            "%s is a folder; give the files in it (%s)" % (path, os.path.join(path, "*"))
        )
    try:
        with open(path, "rb") as f:
            return Source(f.read(), path)
    except FileNotFoundError:
        raise ImportFileError("%s: no such file" % path) from None
    except OSError as exc:
        raise ImportFileError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
