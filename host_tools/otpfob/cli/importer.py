"""The import command: accounts from any supported export, URI list, QR image or URI,
recognised by content (otpfob.importers), planned against what the fob holds, and stored
as one all-or-nothing batch."""

import os
import re
import sys

import click

from .util import EXIT_REFUSED, ExpectedError, label_strips, pass_state, plural, show_previews

NO_HOTP = "this fob's firmware shows no HOTP codes (update it with `otpfob deploy`)"
PASSWORD_ENV = "OTPFOB_EXPORT_PASSWORD"
# The longest add_many part line an import sends (see its use).
IMPORT_LINE = 1024


def _inputs(sources):
    inputs = []
    for source in sources:
        low = source.strip().lower()
        if low.startswith(("otpauth:", "otpauth-migration:", "steam://")):
            inputs.append(("uri", source, "URI"))
        elif source == "-" or os.path.exists(source):
            inputs.append(("file", source))
        elif _looks_like_secret(source):
            # A bare secret given by mistake: say so without repeating it.
            raise ExpectedError(
                "an argument is neither a file nor an otpauth:// URI or "
                "steam:// secret (a bare secret? `otpfob add NAME` asks for "
                "one)"
            )
        else:
            raise ExpectedError(
                "%s: no such file (and not an otpauth:// URI or steam:// secret)" % source
            )
    return inputs


def passwords_for(state, password_file, key_file, stdin_used):
    """Where the password of an encrypted export comes from: --export-password-file, then
    OTPFOB_EXPORT_PASSWORD, then a hidden prompt (on a terminal, not under --json)."""
    from ..importers import Passwords

    given = None
    if password_file:
        given = _first_line(password_file, "--export-password-file")
    elif os.environ.get(PASSWORD_ENV):
        given = os.environ[PASSWORD_ENV]
    ask = None
    if given is None and not stdin_used and not state.json and _on_a_terminal():

        def ask(prompt):
            return click.prompt(prompt, hide_input=True, err=True)

    key = read_key_file(key_file) if key_file else None
    return Passwords(given, ask, key)


def _on_a_terminal():
    return sys.stdin.isatty()


def _first_line(path, option):
    try:
        with open(path, encoding="utf-8") as f:
            line = f.readline().rstrip("\r\n")
    except OSError as exc:
        raise ExpectedError(
            "%s: cannot read %s (%s)" % (option, path, exc.strerror or exc)
        ) from None
    if not line:
        raise ExpectedError("%s: the first line of %s (the password) is empty" % (option, path))
    return line


def read_key_file(path):
    from ..importers import ImportFileError
    from ..importers.pskc import read_key

    try:
        return read_key(path)
    except ImportFileError as exc:
        raise ExpectedError("--pskc-key-file: %s" % exc) from None


def read_sources(state, sources, fmt=None, as_totp=False, passwords=None):
    """Everything the sources hold (an importers.Collected), warnings shown as they go."""
    from ..importers import ImportFileError, Passwords, collect

    try:
        collected = collect(_inputs(sources), passwords or Passwords(), fmt, as_totp)
    except ImportFileError as exc:
        kind = type(exc).__name__
        message = str(exc)
        if kind in ("WrongPassword", "PasswordNeeded"):
            message += "; nothing was stored"
        raise ExpectedError(message) from None
    except Exception as exc:
        from ..otpauth import OtpauthError

        if isinstance(exc, OtpauthError):  # an incomplete Google export, for one
            raise ExpectedError(str(exc)) from None
        raise
    for account, where in collected.items:
        for w in account.warnings:
            state.warn("%s (%s): %s" % (account.label, where, w))
    for note in collected.notices:
        state.warn(note)
    return collected


def _looks_like_secret(text):
    body = text.replace(" ", "").replace("-", "").rstrip("=").upper()
    return len(body) >= 16 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in body)


def _name_element(message, accounts):
    """The fob numbers a batch's elements ("accounts[12]: ..."); name the account instead."""
    m = re.match(r"accounts\[(\d+)\]: ", message)
    if m and int(m.group(1)) < len(accounts):
        return "%s: %s" % (accounts[int(m.group(1))].label, message[m.end() :])
    return message


def _conflict_text(conflicts):
    return "; ".join("%s (%s)" % (label, " and ".join(wheres)) for label, wheres in conflicts)


@click.command(name="import")
@click.argument("sources", nargs=-1, required=True, metavar="FILE|URI...")
@click.option(
    "--format",
    "fmt",
    metavar="NAME",
    help="Read every FILE as this format instead of recognising it (the formats: "
    "docs/admin.md, or an unknown file's error).",
)
@click.option(
    "-n",
    "--dry-run",
    is_flag=True,
    help="Say per account what would be added, replaced or skipped, and why; change nothing.",
)
@click.option(
    "--skip-existing",
    is_flag=True,
    help="Leave accounts the fob already has as they are (skip them).",
)
@click.option(
    "--replace",
    "-f",
    "--force",
    "replace",
    is_flag=True,
    help="Replace accounts the fob already has with the imported ones.",
)
@click.option(
    "--as-totp",
    is_flag=True,
    help="Keep issuer=Steam accounts without encoder=steam as plain TOTP.",
)
@click.option(
    "--export-password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the password of an encrypted export (else "
    "OTPFOB_EXPORT_PASSWORD, else asked for).",
)
@click.option(
    "--pskc-key-file",
    type=click.Path(dir_okay=False),
    help="The pre-shared key of an encrypted PSKC file (hex, or 16/24/32 bytes).",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Show each label as the fob will draw it, in the terminal; import nothing.",
)
@click.option(
    "--preview-png",
    type=click.Path(dir_okay=False),
    help="Save the labels as the fob will draw them to this PNG; import nothing.",
)
@pass_state
def import_(
    state,
    sources,
    fmt,
    dry_run,
    skip_existing,
    replace,
    as_totp,
    export_password_file,
    pskc_key_file,
    preview,
    preview_png,
):
    """Import accounts from exports, URI lists, QR images or URIs.

    Each FILE is recognised by its content: Aegis, 2FAS, andOTP, FreeOTP, FreeOTP+,
    Bitwarden, 1Password, Proton Authenticator, Authenticator Pro, Ente Auth, LastPass
    Authenticator, Steam Desktop Authenticator, KeePass, PSKC, Entra CSV exports, text
    files of otpauth:// URIs, Google Authenticator exports (otpauth-migration:// text or
    QR screenshots), or - for stdin. Entries the fob cannot hold are skipped, each with
    one line saying why. The codes of a multi-QR export must all be given together.

    \b
    Examples:
      otpfob import --dry-run aegis-export.json   (what would change; nothing is written)
      otpfob import export-1.png export-2.png     (a Google Authenticator export in 2 codes)
      otpfob import --skip-existing backup.2fas
    """
    if skip_existing and replace:
        raise click.UsageError("give --skip-existing or --replace, not both")
    passwords = passwords_for(state, export_password_file, pskc_key_file, "-" in sources)
    collected = read_sources(state, sources, fmt, as_totp, passwords)
    for skip in collected.skipped:
        state.warn("skipped %s" % skip.line())
    if collected.conflicts and not dry_run:
        raise ExpectedError(
            "different secrets under one label: %s. Nothing was stored: "
            "keep one of each (rename or delete the other in the app it came "
            "from) and import again" % _conflict_text(collected.conflicts)
        )
    if not collected.items and not collected.conflicts:
        raise ExpectedError(
            "nothing to import%s"
            % (
                " (%s skipped, listed above)" % plural(len(collected.skipped), "entry", "entries")
                if collected.skipped
                else ""
            )
        )
    if preview or preview_png:
        show_previews(state, [(a.issuer, a.name) for a, _ in collected.items], preview_png)
        return
    from ..client import takes_hotp

    client = state.client()
    info = client.info()
    existing = client.credentials()
    plan = plan_import(
        [a for a, _ in collected.items],
        existing,
        info.get("capacity"),
        replace,
        skip_existing,
        takes_hotp(info),
        [w for _, w in collected.items],
    )
    if dry_run:
        show_plan(state, plan, collected)
        return
    for row in plan:
        if row["action"] == "skip":
            state.warn("skipped %s (%s): %s" % (row["label"], row["where"], row["reason"]))
    refused = [row for row in plan if row["action"] == "refuse"]
    clashes = [row["label"] for row in refused if row["reason"] == "already on the fob"]
    if clashes:
        raise ExpectedError(
            "already on the fob: %s; --skip-existing leaves them as they are, "
            "--replace replaces them" % ", ".join(clashes)
        )
    if refused:
        room = max(0, info["capacity"] - len(existing))
        new = sum(1 for row in plan if row["action"] == "add")
        raise ExpectedError(
            "the fob is full: it has room for %s, the import has %d new "
            "ones; `otpfob delete` makes room" % (plural(room, "more account"), new)
        )
    accounts = [row["account"] for row in plan if row["action"] in ("add", "replace")]
    skipped = len(collected.skipped) + sum(1 for row in plan if row["action"] == "skip")
    if not accounts:
        _report(state, 0, 0, 0, 0, skipped, plan, collected)
        return
    from ..client import FobError

    strips = label_strips(state, client, [(a.issuer, a.name) for a in accounts], existing)
    try:
        # One batch on the fob: checked part by part, written to flash once at the end.
        with state.activity("Importing %s" % plural(len(accounts), "account")):
            # In batches of the most the fob holds at once (its limits.batch_max; each
            # batch is a question of its own), all in this one command.
            parts, reply = client.add_staged(
                accounts,
                overwrite=replace,
                # Parts of at most 1 KB, not the fob's whole line limit: each part is
                # parsed on the fob while the vault and the staged accounts are in
                # RAM, and a 2 KB line makes four 2 KB blocks at once (the line, its
                # copies, its text); at 200 accounts CircuitPython 9.2.8 had no such
                # holes left (tier 5, make test-realcp).
                max_line=min(info.get("max_line") or 2048, IMPORT_LINE),
                strips=strips,
                batch_max=(info.get("limits") or {}).get("batch_max"),
            )
    except FobError as exc:
        if exc.code in ("refused", "presence_timeout"):
            raise ExpectedError(
                "import %s; nothing was stored" % exc.message, EXIT_REFUSED
            ) from None
        if exc.code == "timeout":
            # The last part may have been written with only its reply lost.
            raise ExpectedError(
                "import stopped: %s; the fob stores an import whole or not "
                "at all, `otpfob list` shows which" % exc.message
            ) from None
        stored = getattr(exc, "stored", 0)
        accounts = accounts[getattr(exc, "offset", 0) :]
        if stored:
            raise ExpectedError(
                "import stopped: %s; the first %s (whole batches) were stored, the rest "
                "was not: `otpfob list` shows them"
                % (_name_element(exc.message, accounts), plural(stored, "account"))
            ) from None
        raise ExpectedError(
            "import stopped, nothing was stored: %s" % _name_element(exc.message, accounts)
        ) from None
    for w in reply["warnings"]:
        state.warn(_name_element(w, accounts))
    _report(
        state,
        reply.get("added", 0),
        reply.get("replaced", 0),
        parts,
        client.round_trips,
        skipped,
        plan,
        collected,
    )


def _report(state, added, replaced, parts, round_trips, skipped, plan, collected):
    if state.json:
        state.emit_json(
            {
                "added": added,
                "replaced": replaced,
                "requests": parts,
                "round_trips": round_trips,
                "skipped": [
                    {"label": s.label, "where": s.where, "reason": s.reason}
                    for s in collected.skipped
                ]
                + [
                    {"label": r["label"], "where": r["where"], "reason": r["reason"]}
                    for r in plan
                    if r["action"] == "skip"
                ],
            }
        )
        return
    text = "Imported %s (%d new, %d replaced)" % (
        plural(added + replaced, "account"),
        added,
        replaced,
    )
    if skipped:
        text += "; %s skipped (listed above)" % plural(skipped, "entry", "entries")
    state.note(text + ".")


def plan_import(accounts, existing, capacity, replace, skip_existing=False, hotp=True, wheres=None):
    """What an import would do to each account: add, replace (--replace), skip (already on
    the fob with --skip-existing, or HOTP on a fob without it) or refuse (already on the
    fob without either flag, or no room left), in the order given."""
    present = {(e.issuer.lower(), e.name.lower()): e for e in existing}
    room = None if capacity is None else capacity - len(existing)
    plan = []
    for n, a in enumerate(accounts):
        row = {
            "label": a.label,
            "issuer": a.issuer,
            "name": a.name,
            "type": a.kind,
            "algorithm": a.algorithm,
            "digits": a.digits,
            "account": a,
            "where": wheres[n] if wheres else "",
        }
        if a.is_hotp:
            row["counter"] = a.counter
        else:
            row["period"] = a.period
        on_fob = present.get((a.issuer.lower(), a.name.lower()))
        if a.is_hotp and not hotp:
            row["action"], row["reason"] = "skip", NO_HOTP
        elif on_fob is not None:
            row["index"] = on_fob.index + 1
            if replace:
                row["action"] = "replace"
            elif skip_existing:
                row["action"], row["reason"] = "skip", "already on the fob (--skip-existing)"
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


def show_plan(state, plan, collected):
    rows = [{k: v for k, v in r.items() if k != "account"} for r in plan]
    rows += [
        {"label": s.label, "where": s.where, "action": "skip", "reason": s.reason}
        for s in collected.skipped
    ]
    rows += [
        {
            "label": label,
            "where": " and ".join(wheres),
            "action": "refuse",
            "reason": "different secrets under one label",
        }
        for label, wheres in collected.conflicts
    ]
    if state.json:
        state.emit_json(rows)
        return
    for row in rows:
        line = "%-8s %s" % (row["action"], row["label"])
        if row.get("where"):
            line += "  [%s]" % row["where"]
        if row.get("reason"):
            line += " (%s)" % row["reason"]
        click.echo(line)
    counts = {
        k: sum(1 for r in rows if r["action"] == k) for k in ("add", "replace", "skip", "refuse")
    }
    hints = []
    if any(r.get("reason") == "already on the fob" for r in rows):
        hints.append("--replace replaces the ones already on the fob, --skip-existing leaves them")
    state.note(
        "Dry run, nothing changed: %s would be added, %d replaced, %d skipped, %d "
        "refused%s."
        % (
            plural(counts["add"], "account"),
            counts["replace"],
            counts["skip"],
            counts["refuse"],
            "; " + "; ".join(hints) if hints else "",
        )
    )
