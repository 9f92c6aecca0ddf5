"""The import command: many accounts from URIs, text files, QR images and exports."""

import os
import re
import sys

import click

from .util import EXIT_REFUSED, ExpectedError, pass_state, plural


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
        if os.path.isdir(source):
            raise ExpectedError("%s is a folder; give the files in it (%s)"
                                % (source, os.path.join(source, "*")))
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
        text = decode_text(head, source, state)
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


def decode_text(data, where, state):
    """A text file as the usual tools save it (UTF-8, UTF-16 with a BOM, else Latin-1, which
    a warning names)."""
    from ..textfile import TextFileError, decode

    try:
        text, encoding = decode(data, where)
    except TextFileError as exc:
        raise ExpectedError("%s (and not an image)" % exc) from None
    if encoding == "Latin-1":
        state.warn("%s is not UTF-8; read it as Latin-1 (save it as UTF-8 if names look "
                   "wrong)" % where)
    return text


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
@click.option("-f", "--force", is_flag=True,
              help="Replace accounts that are already on the fob.")
@click.option("-n", "--dry-run", is_flag=True,
              help="Ask the fob and say what would be added, replaced or refused; change "
                   "nothing.")
@pass_state
def import_(state, sources, force, dry_run):
    """Import many accounts at once.

    Each FILE|URI is an otpauth:// or otpauth-migration:// URI (a Google Authenticator
    export), a steam://BASE32 Steam Guard secret (named Steam:Steam Guard), a text file of
    such lines (UTF-8, UTF-16 or Latin-1), an image of QR codes, or - for stdin.
    The codes of a multi-QR export must all be given together.

    \b
    Examples:
      otpfob import --dry-run accounts.txt      (what would change; nothing is written)
      otpfob import export-1.png export-2.png   (a Google Authenticator export in 2 codes)
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
    client = state.client()
    info = client.info()
    existing = client.list()["accounts"]
    plan = plan_import(accounts, existing, info.get("capacity"), force)
    if dry_run:
        show_plan(state, plan)
        return
    refused = [row for row in plan if row["action"] == "refuse"]
    clashes = [row["label"] for row in refused if row["reason"] == "already on the fob"]
    if clashes:
        raise ExpectedError("already on the fob: %s; add --force (-f) to replace them"
                            % ", ".join(clashes))
    if refused:
        room = max(0, info["capacity"] - len(existing))
        new = sum(1 for row in plan if row["action"] != "replace")
        raise ExpectedError("the fob is full: it has room for %s, the import has %d new "
                            "ones; `otpfob delete` makes room"
                            % (plural(room, "more account"), new))
    from ..client import FobError

    try:
        # One batch on the fob: checked part by part, written to flash once at the end.
        with state.activity("Importing %s" % plural(len(accounts), "account")):
            parts, reply = client.add_staged(accounts, overwrite=force,
                                             max_line=info.get("max_line") or 2048)
    except FobError as exc:
        if exc.code in ("refused", "presence_timeout"):
            raise ExpectedError("import %s; nothing was stored" % exc.message,
                                EXIT_REFUSED) from None
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
        state.note("Imported %s (%d new, %d replaced)." % (
            plural(added + replaced, "account"), added, replaced))


def plan_import(accounts, existing, capacity, force):
    """What an import would do to each account: add, replace (with --force) or refuse
    (already on the fob without --force, or no room left), in the order given."""
    present = {((e.get("issuer") or "").lower(), e["name"].lower()): e for e in existing}
    room = None if capacity is None else capacity - len(existing)
    plan = []
    for a in accounts:
        row = {"label": a.label, "issuer": a.issuer, "name": a.name,
               "algorithm": a.algorithm, "digits": a.digits, "period": a.period}
        on_fob = present.get((a.issuer.lower(), a.name.lower()))
        if on_fob is not None:
            row["index"] = on_fob["index"] + 1
            if force:
                row["action"] = "replace"
            else:
                row["action"], row["reason"] = "refuse", "already on the fob"
        elif room is not None and room <= 0:
            row["action"], row["reason"] = "refuse", "the fob is full"
        else:
            row["action"] = "add"
            if room is not None:
                room -= 1
        plan.append(row)
    return plan


def show_plan(state, plan):
    if state.json:
        state.emit_json(plan)
        return
    verbs = {"add": "add", "replace": "replace", "refuse": "refuse"}
    for row in plan:
        line = "%-8s %s" % (verbs[row["action"]], row["label"])
        if row.get("reason"):
            line += " (%s)" % row["reason"]
        click.echo(line)
    counts = {k: sum(1 for r in plan if r["action"] == k) for k in verbs}
    state.note("Dry run, nothing changed: %s would be added, %d replaced, %d refused%s." % (
        plural(counts["add"], "account"), counts["replace"], counts["refuse"],
        "; --force replaces the ones already on the fob"
        if any(r.get("reason") == "already on the fob" for r in plan) else ""))
