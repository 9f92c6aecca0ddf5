"""Commands on accounts: list, add, code, delete, rename."""

import sys

import click

from ..codecheck import added
from .util import (EXIT_USAGE, ExpectedError, confirm, explain, expected_error_types,
                   filter_accounts, group_code, label_of, numbered, pass_state, plural, resolve)

ALGORITHM_CHOICES = ("SHA1", "SHA256", "SHA512", "STEAM")


@click.command(name="list")
@pass_state
def list_(state):
    """List the accounts on the fob, in the fob's order.

    The # column is the number QUERY takes as #N and --json prints as `index`.

    Example: otpfob list --json
    """
    accounts = state.client().list()["accounts"]
    if state.json:
        state.emit_json([numbered(a) for a in accounts])
        return
    if not accounts:
        state.note("The fob has no accounts yet (otpfob add / otpfob import).")
        return
    from rich.table import Table

    table = Table()
    table.add_column("#", justify="right")
    table.add_column("Issuer")
    table.add_column("Account")
    table.add_column("Type")
    for i, a in enumerate(accounts, 1):
        kind = "Steam" if a.get("algorithm") == "STEAM" else "%s, %s digits, %ss" % (
            a.get("algorithm"), a.get("digits"), a.get("period"))
        table.add_row(str(i), a.get("issuer") or "", a["name"], kind)
    state.console().print(table)


@click.command()
@click.argument("name", required=False)
@click.argument("secret", required=False)
@click.option("--issuer", help="Issuer (service name). NAME may also be ISSUER:NAME.")
@click.option("--digits", type=click.Choice(["6", "7", "8"]), help="Code length [6].")
@click.option("--period", type=click.IntRange(1, 86400), help="Seconds per code [30].")
@click.option("--algorithm", type=click.Choice(ALGORITHM_CHOICES, case_sensitive=False),
              help="HMAC algorithm, or STEAM for Steam Guard [SHA1].")
@click.option("--uri", help="An otpauth://totp/... URI (as in a QR code), or a "
              "steam://BASE32 secret.")
@click.option("--qr", "qr_image", type=click.Path(dir_okay=False),
              help="An image (screenshot, photo) of the service's QR code.")
@click.option("-f", "--force", is_flag=True,
              help="Replace an existing account with the same label.")
@pass_state
def add(state, name, secret, issuer, digits, period, algorithm, uri, qr_image, force):
    """Add one account.

    Give NAME and leave out SECRET to type the base32 secret at a hidden prompt (so it stays
    out of your shell history), or give --uri or --qr instead. A steam://BASE32 secret
    (at the prompt, as SECRET or as --uri) adds a Steam Guard account.

    \b
    Examples:
      otpfob add GitHub:octocat                 (asks for the secret)
      pass show github-totp | otpfob add GitHub:octocat
      otpfob add --qr screenshot.png
    """
    from ..otpauth import Account, is_steam, parse_uri

    if name is not None and is_steam(name) and secret is None and not (uri or qr_image):
        # `otpfob add steam://...`: the secret, not a label (it must never become one).
        name, secret = None, name

    if uri and qr_image:
        raise click.UsageError("give --uri or --qr, not both")
    if uri or qr_image:
        if secret is not None:
            raise click.UsageError("SECRET comes from the URI; do not give it too")
        if digits or period or algorithm:
            raise click.UsageError("--digits, --period and --algorithm come from the URI")
        if qr_image:
            from ..qr import read_image

            texts = read_image(qr_image)
            totp = [t for t in texts if t.lower().startswith("otpauth:") or is_steam(t)]
            if any(t.lower().startswith("otpauth-migration:") for t in texts):
                raise ExpectedError("%s holds a Google Authenticator export; use "
                                    "`otpfob import %s`" % (qr_image, qr_image))
            if not totp:
                raise ExpectedError("%s: the QR code holds no otpauth:// URI" % qr_image)
            if len(totp) > 1:
                raise ExpectedError("%s holds %d account QR codes; use `otpfob import %s`"
                                    % (qr_image, len(totp), qr_image))
            uri = totp[0]
        account = parse_uri(uri)
        for w in account.warnings:
            state.warn(w)
        if name or issuer is not None:
            new_name, new_issuer = split_label(name, issuer)
            account = Account(new_name or account.name, account.secret,
                              issuer=account.issuer if new_issuer is None else new_issuer,
                              algorithm=account.algorithm, digits=account.digits,
                              period=account.period)
    elif secret is not None and is_steam(secret) and not name:
        account = _steam_account(secret, None, issuer, digits, period, algorithm)
    else:
        if not name:
            raise click.UsageError("give NAME (and optionally SECRET), --uri or --qr")
        name, issuer = split_label(name, issuer)
        if secret is None:
            secret = read_secret()
        if is_steam(secret):
            account = _steam_account(secret, name, issuer, digits, period, algorithm)
        else:
            account = _plain_account(secret, name, issuer, digits, period, algorithm)
        for w in account.warnings:
            state.warn(w)
    client = state.client()
    try:
        reply, ok, message = added(client, account, overwrite=force)
    except Exception as exc:
        raise _explain_add_error(exc, account) from None
    if reply.get("warning"):
        state.warn(reply["warning"])
    index = reply.get("index")
    verb = "Replaced" if reply.get("replaced") else "Added"
    if state.json:
        state.emit_json({"index": index + 1, "issuer": account.issuer, "name": account.name,
                         "replaced": bool(reply.get("replaced")), "verified": ok,
                         "message": message})
    else:
        state.note("%s %s as #%d." % (verb, account.label, index + 1))
    if ok is False:
        raise ExpectedError("%s was stored, but %s" % (account.label, message))
    if ok is None:
        state.warn(message)
    elif not state.json:
        state.note("Check: %s." % message)


def _plain_account(secret, name, issuer, digits, period, algorithm):
    from ..otpauth import Account, OtpauthError, decode_secret

    try:
        key = decode_secret(secret)
    except OtpauthError as exc:
        raise ExpectedError(str(exc)) from None
    algo = (algorithm or "SHA1").upper()
    return Account(name, key, issuer=issuer or "", algorithm=algo,
                   digits=int(digits) if digits else (5 if algo == "STEAM" else 6),
                   period=period or 30)


def _steam_account(secret, name, issuer, digits, period, algorithm):
    """A steam://BASE32 secret: always a Steam Guard account (5 characters, 30 s)."""
    from ..otpauth import OtpauthError, parse_steam

    if (algorithm and algorithm.upper() != "STEAM") or digits or period:
        raise click.UsageError("a steam:// secret is a Steam Guard account (5 characters "
                               "every 30 s): leave out --algorithm, --digits and --period")
    try:
        return parse_steam(secret, name, issuer)
    except OtpauthError as exc:
        raise ExpectedError(str(exc)) from None


def read_secret():
    """The secret from a hidden prompt, or the first line of stdin when it is not a terminal
    (`pass show service | otpfob add ...`), so it never appears in argv or shell history."""
    if sys.stdin.isatty():
        return click.prompt("Secret (base32)", hide_input=True, err=True)
    line = sys.stdin.readline().strip()
    if not line:
        raise ExpectedError("no secret given: type it at the prompt or pipe it on stdin")
    return line


def split_label(name, issuer):
    """NAME may be ISSUER:NAME when --issuer is not given."""
    if name and issuer is None and ":" in name:
        prefix, rest = name.split(":", 1)
        return rest.strip(), prefix.strip()
    return name, issuer


def _explain_add_error(exc, account):
    from ..client import FobError

    if isinstance(exc, FobError):
        if exc.code == "duplicate":
            return ExpectedError("%s is already on the fob; add --force (-f) to replace it"
                                 % account.label)
        if exc.code == "full":
            return ExpectedError("the fob is full: %s; `otpfob delete` makes room"
                                 % exc.message)
    if isinstance(exc, expected_error_types()):
        return explain(exc)
    return exc

@click.command()
@click.argument("query", required=False)
@click.option("-s", "--single", is_flag=True,
              help="Print only the code of the one account QUERY names (for scripts).")
@pass_state
def code(state, query, single):
    """Show current codes (all accounts, or those QUERY matches).

    \b
    Examples:
      otpfob code                 all codes, with the seconds each has left
      otpfob code -s github       just the code: `otpfob code -s github | xclip`
      otpfob code '#3' --json
    """
    client = state.client()
    if single:
        accounts = client.list()["accounts"]
        if query is not None:
            chosen = resolve(accounts, query)
        elif len(accounts) == 1:
            chosen = accounts[0]
        else:
            raise ExpectedError("--single needs a QUERY that names one account (the fob has "
                                "%s)" % plural(len(accounts), "account"), EXIT_USAGE)
        reply = client.code(chosen["index"])
        entry = (reply.get("codes") or [{}])[0]
        if not entry.get("code"):
            raise ExpectedError("%s: %s" % (label_of(chosen), (entry.get("error") or {}).get(
                "message", "the fob gave no code")))
        if state.json:
            state.emit_json(dict(numbered(entry), time=reply.get("time")))
        else:
            click.echo(entry["code"])
        return
    if query is None:
        with state.activity("Computing the codes on the fob"):
            reply = client.code()
        entries = reply.get("codes", [])
    else:
        accounts = client.list()["accounts"]
        chosen = filter_accounts(accounts, query)
        if len(chosen) == 1:
            reply = client.code(chosen[0]["index"])
            entries = reply.get("codes", [])
        else:
            with state.activity("Computing the codes on the fob"):
                reply = client.code()
            wanted = {a["index"] for a in chosen}
            entries = [e for e in reply.get("codes", []) if e.get("index") in wanted]
    if state.json:
        # The fob's time of the computation makes each code checkable against other tools.
        state.emit_json([dict(numbered(e), time=reply.get("time")) for e in entries])
        return
    if not entries:
        state.note("The fob has no accounts yet.")
        return
    from rich.table import Table

    table = Table()
    table.add_column("#", justify="right")
    table.add_column("Issuer")
    table.add_column("Account")
    table.add_column("Code", justify="right", style="bold")
    table.add_column("Left", justify="right")
    for e in entries:
        shown = group_code(e.get("code")) if e.get("code") else (
            "error: %s" % (e.get("error") or {}).get("message", "?"))
        table.add_row(str(e.get("index", 0) + 1), e.get("issuer") or "", e["name"], shown,
                      "%ss" % e.get("seconds_left"))
    state.console().print(table)


@click.command()
@click.argument("query")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def delete(state, query, force):
    """Delete the account QUERY names.

    Example: otpfob delete '#2' --force
    """
    client = state.client()
    target = resolve(client.list()["accounts"], query)
    confirm(state, "Delete %s from the fob?" % label_of(target), force)
    reply = client.delete(issuer=target.get("issuer") or "", name=target["name"])
    gone = reply.get("deleted", target)
    if state.json:
        state.emit_json(numbered(gone))
    else:
        state.note("Deleted %s." % label_of(gone))


@click.command()
@click.argument("query")
@click.argument("new_name")
@click.option("--issuer", help="New issuer (unchanged when omitted).")
@pass_state
def rename(state, query, new_name, issuer):
    """Rename the account QUERY names to NEW_NAME.

    Example: otpfob rename octocat octocat@work.example --issuer GitHub
    """
    from ..otpauth import check_label

    check_label("name", new_name)
    if issuer:
        check_label("issuer", issuer)
    client = state.client()
    target = resolve(client.list()["accounts"], query)
    reply = client.rename(target["index"], new_name, issuer)
    result = numbered(reply)
    if state.json:
        state.emit_json(result)
    else:
        state.note("Renamed %s to %s." % (label_of(target), label_of(result)))
