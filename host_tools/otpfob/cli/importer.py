"""The import command: many accounts from URIs, text files, QR images and exports."""

import os
import re
import sys

import click

from .util import ExpectedError, pass_state


def read_sources(state, sources):
    """Accounts from URIs, text files and QR images; one merged list, in the order given."""
    from .. import migration
    from ..otpauth import OtpauthError, parse_uri

    accounts = []
    payloads = []
    order = []          # ("uri", account) or ("export", None) placeholders keep the order

    def take(text, where):
        text = text.strip()
        if not text or text.startswith("#"):
            return
        try:
            if migration.is_migration_uri(text):
                payloads.append(migration.decode_uri(text))
                order.append(("export", None))
            else:
                account = parse_uri(text)
                for w in account.warnings:
                    state.warn("%s: %s" % (where, w))
                order.append(("uri", account))
        except OtpauthError as exc:
            raise ExpectedError("%s: %s" % (where, exc)) from None

    for source in sources:
        low = source.strip().lower()
        if low.startswith(("otpauth:", "otpauth-migration:", "steam://")):
            take(source, "URI")
            continue
        if source == "-":
            for n, line in enumerate(sys.stdin.read().splitlines(), 1):
                take(line, "stdin line %d" % n)
            continue
        if not os.path.exists(source):
            if _looks_like_secret(source):
                # A bare secret given by mistake: say so without repeating it.
                raise ExpectedError("an argument is neither a file nor an otpauth:// URI or "
                                    "steam:// secret (a bare secret? `otpfob add NAME` "
                                    "asks for one)")
            raise ExpectedError("%s: no such file (and not an otpauth:// URI or steam:// "
                                "secret)" % source)
        with open(source, "rb") as f:
            head = f.read()
        if _is_image(head):
            from ..qr import read_image

            for n, text in enumerate(read_image(source), 1):
                take(text, "%s QR %d" % (source, n))
            continue
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExpectedError("%s: neither a text file of URIs nor an image" % source) \
                from None
        for n, line in enumerate(text.splitlines(), 1):
            take(line, "%s line %d" % (source, n))

    exported, skipped = migration.merge(payloads)
    for note in skipped:
        state.warn("skipped %s" % note)
    exported = iter(exported)
    for kind, account in order:
        if kind == "uri":
            accounts.append(account)
        else:
            # Exports are merged as a whole (a batch spans several codes); put them in once.
            accounts.extend(exported)
    return accounts


def _looks_like_secret(text):
    body = text.replace(" ", "").replace("-", "").rstrip("=").upper()
    return len(body) >= 16 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in body)


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM",
                b"II*\x00", b"MM\x00*")


def _is_image(head):
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(m) for m in _IMAGE_MAGIC)


def _name_element(message, accounts):
    """The fob numbers a batch's elements ("accounts[12]: ..."); name the account instead."""
    m = re.match(r"accounts\[(\d+)\]: ", message)
    if m and int(m.group(1)) < len(accounts):
        return "%s: %s" % (accounts[int(m.group(1))].label, message[m.end():])
    return message


@click.command(name="import")
@click.argument("sources", nargs=-1, required=True, metavar="FILE|URI...")
@click.option("--force", is_flag=True, help="Replace accounts that are already on the fob.")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@pass_state
def import_(state, sources, force, dry_run):
    """Import many accounts at once.

    Each FILE|URI is an otpauth:// or otpauth-migration:// URI (a Google Authenticator
    export), a steam://BASE32 Steam Guard secret (named Steam:Steam Guard), a text file of
    such lines, an image of QR codes, or - for stdin.
    The codes of a multi-QR export must all be given together.
    """
    accounts = read_sources(state, sources)
    if not accounts:
        raise ExpectedError("nothing to import")
    seen = {}
    for a in accounts:
        key = (a.issuer.lower(), a.name.lower())
        if key in seen:
            raise ExpectedError("%s appears twice in the import" % a.label)
        seen[key] = a
    if dry_run:
        rows = [{"issuer": a.issuer, "name": a.name, "algorithm": a.algorithm,
                 "digits": a.digits, "period": a.period} for a in accounts]
        if state.json:
            state.emit_json(rows)
        else:
            for a in accounts:
                click.echo(a.label)
            state.note("%d accounts would be imported (dry run)." % len(accounts))
        return
    client = state.client()
    info = client.info()
    existing = client.list()["accounts"]
    present = {((e.get("issuer") or "").lower(), e["name"].lower()): e for e in existing}
    clashes = [a.label for a in accounts if (a.issuer.lower(), a.name.lower()) in present]
    if clashes and not force:
        raise ExpectedError("already on the fob: %s; add --force to replace them"
                            % ", ".join(clashes))
    new = len(accounts) - len(clashes)
    capacity = info.get("capacity")
    if capacity is not None and len(existing) + new > capacity:
        raise ExpectedError("the fob is full: it has room for %d more accounts, the import "
                            "has %d new ones" % (capacity - len(existing), new))
    from ..client import FobError

    try:
        # One batch on the fob: checked part by part, written to flash once at the end.
        parts, reply = client.add_staged(accounts, overwrite=force,
                                         max_line=info.get("max_line") or 2048)
    except FobError as exc:
        if exc.code == "timeout":
            # The last part may have been written with only its reply lost.
            raise ExpectedError("import stopped: %s; the fob stores an import whole or not "
                                "at all, `otpfob list` shows which" % exc.message) from None
        raise ExpectedError("import stopped, nothing was stored: %s"
                            % _name_element(exc.message, accounts)) from None
    for w in reply["warnings"]:
        state.warn(_name_element(w, accounts))
    added = reply.get("added", 0)
    replaced = reply.get("replaced", 0)
    result = {"added": added, "replaced": replaced, "requests": parts,
              "round_trips": client.round_trips}
    if state.json:
        state.emit_json(result)
    else:
        state.note("Imported %d accounts (%d new, %d replaced)." % (added + replaced, added,
                                                                    replaced))
