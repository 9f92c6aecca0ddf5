"""Commands on accounts: list, add, code, delete, rename."""

import sys

import click

from ..codecheck import added
from .util import (
    EXIT_USAGE,
    ExpectedError,
    OtpfobError,
    confirm,
    explain,
    filter_accounts,
    group_code,
    label_of,
    label_strips,
    numbered,
    pass_state,
    plural,
    resolve,
    show_previews,
)

ALGORITHM_CHOICES = ("SHA1", "SHA256", "SHA512", "STEAM")


@click.command(name="list")
@pass_state
def list_(state):
    """List the accounts on the fob, in the fob's order.

    The # column is the number QUERY takes as #N and --json prints as `index`.

    Example: otpfob list --json
    """
    accounts = state.client().credentials()
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
        if a.algorithm == "STEAM":
            kind = "Steam"
        elif a.kind == "hotp":
            kind = "HOTP, %s, %s digits" % (a.algorithm, a.digits)
        else:
            kind = "%s, %s digits, %ss" % (a.algorithm, a.digits, a.period)
        table.add_row(str(i), a.issuer, a.name, kind)
    state.console().print(table)


@click.command()
@click.argument("name", required=False)
@click.argument("secret", required=False)
# The short flags are ykman's for `ykman oath accounts add` (-i, -d, -a, -c, -P, -f).
@click.option("-i", "--issuer", help="Issuer (service name). NAME may also be ISSUER:NAME.")
@click.option("-d", "--digits", type=click.Choice(["6", "7", "8"]), help="Code length [6].")
@click.option("-P", "--period", type=click.IntRange(1, 86400), help="Seconds per code [30].")
@click.option(
    "-a",
    "--algorithm",
    type=click.Choice(ALGORITHM_CHOICES, case_sensitive=False),
    help="HMAC algorithm, or STEAM for Steam Guard [SHA1].",
)
@click.option(
    "--hotp",
    is_flag=True,
    help="A counter-based (HOTP) account: the fob shows the next code at a press.",
)
@click.option(
    "-c",
    "--counter",
    type=click.IntRange(0, 0xFFFFFFFF),
    help="With --hotp: the counter of the next code [0].",
)
@click.option(
    "--uri",
    help="An otpauth://totp/ or otpauth://hotp/ URI (as in a QR code), or a steam://BASE32 secret.",
)
@click.option(
    "--qr",
    "qr_image",
    type=click.Path(dir_okay=False),
    help="An image (screenshot, photo) of the service's QR code.",
)
@click.option(
    "--screen", is_flag=True, help="Find the service's QR code on this computer's screen."
)
@click.option(
    "--as-totp",
    is_flag=True,
    help="Keep an issuer=Steam URI without encoder=steam a plain TOTP account.",
)
@click.option(
    "-f", "--force", is_flag=True, help="Replace an existing account with the same label."
)
@click.option(
    "--preview",
    is_flag=True,
    help="Show the label as the fob will draw it, in the terminal; add nothing.",
)
@click.option(
    "--preview-png",
    type=click.Path(dir_okay=False),
    help="Save the label as the fob will draw it to this PNG; add nothing.",
)
@pass_state
def add(
    state,
    name,
    secret,
    issuer,
    digits,
    period,
    algorithm,
    hotp,
    counter,
    uri,
    qr_image,
    screen,
    as_totp,
    force,
    preview,
    preview_png,
):
    """Add one account.

    Give NAME and leave out SECRET to type the base32 secret at a hidden prompt (so it stays
    out of your shell history), or give --uri, --qr or --screen instead. A steam://BASE32
    secret (at the prompt, as SECRET or as --uri) adds a Steam Guard account.

    \b
    Examples:
      otpfob add GitHub:octocat                 (asks for the secret)
      pass show github-totp | otpfob add GitHub:octocat
      otpfob add --qr screenshot.png
      otpfob add --screen                       (the QR code shown on the screen)
      otpfob add Bank:card --hotp --counter 12  (a counter-based token)
      otpfob add 'Банк:Олена' --preview          (the label as the fob draws it)
    """
    from ..otpauth import is_steam, parse_uri

    if name is not None and is_steam(name) and secret is None and not (uri or qr_image or screen):
        # `otpfob add steam://...`: the secret, not a label (it must never become one).
        name, secret = None, name

    if sum(1 for x in (uri, qr_image, screen) if x) > 1:
        raise click.UsageError("give one of --uri, --qr and --screen")
    if counter is not None and not hotp:
        raise click.UsageError("--counter is for HOTP accounts: add --hotp")
    if (preview or preview_png) and name and not (uri or qr_image or screen):
        # Only the label is needed: no secret is asked for, nothing is sent.
        new_name, new_issuer = split_label(name, issuer)
        show_previews(state, [(new_issuer or "", new_name)], preview_png)
        return
    if uri or qr_image or screen:
        if secret is not None:
            raise click.UsageError("SECRET comes from the URI; do not give it too")
        if digits or period or algorithm or hotp:
            raise click.UsageError("--digits, --period, --algorithm and --hotp come from the URI")
        if qr_image or screen:
            uri = _uri_from_qr(state, qr_image)
        try:
            account = parse_uri(uri, as_totp)
        except Exception as exc:
            raise explain(exc) from None
        for w in account.warnings:
            state.warn(w)
        if name or issuer is not None:
            new_name, new_issuer = split_label(name, issuer)
            account = account.replace(
                name=new_name or account.name,
                issuer=account.issuer if new_issuer is None else new_issuer,
                warnings=[],
            )
    elif secret is not None and is_steam(secret) and not name:
        account = _steam_account(secret, None, issuer, digits, period, algorithm, hotp)
    else:
        if not name:
            raise click.UsageError("give NAME (and optionally SECRET), --uri, --qr or --screen")
        name, issuer = split_label(name, issuer)
        if secret is None:
            secret = read_secret()
        if is_steam(secret):
            account = _steam_account(secret, name, issuer, digits, period, algorithm, hotp)
        else:
            account = _plain_account(secret, name, issuer, digits, period, algorithm)
            if hotp:
                if period:
                    raise click.UsageError("an HOTP account has no period")
                if (algorithm or "").upper() == "STEAM":
                    raise click.UsageError("Steam Guard codes are time-based: leave out --hotp")
                account = account.replace(kind="hotp", counter=counter or 0)
        for w in account.warnings:
            state.warn(w)
    if preview or preview_png:
        show_previews(state, [(account.issuer, account.name)], preview_png)
        return
    client = state.client()
    strips = label_strips(state, client, [(account.issuer, account.name)])
    if account.is_hotp:
        from ..client import takes_hotp

        if not takes_hotp(client.info()):
            raise ExpectedError(
                "%s is an HOTP (counter-based) account, and this fob's "
                "firmware shows no HOTP codes; update it with `otpfob deploy`" % account.label
            )
    try:
        reply, ok, message = added(client, account, overwrite=force, strips=strips)
    except Exception as exc:
        raise _explain_add_error(exc, account) from None
    if reply.get("warning"):
        state.warn(reply["warning"])
    index = reply.get("index")
    if account.is_hotp:
        # The fob gives no code with an HOTP add (it would use up a counter value).
        ok, message = None, None
    verb = "Replaced" if reply.get("replaced") else "Added"
    if state.json:
        state.emit_json(
            {
                "index": index + 1,
                "issuer": account.issuer,
                "name": account.name,
                "type": account.kind,
                "replaced": bool(reply.get("replaced")),
                "verified": ok,
                "message": message,
            }
        )
    else:
        state.note("%s %s as #%d." % (verb, account.label, index + 1))
    if account.is_hotp:
        if not state.json:
            state.note(
                "HOTP account: the fob shows its next code (counter %d) at a press."
                % account.counter
            )
        return
    if ok is False:
        raise ExpectedError("%s was stored, but %s" % (account.label, message))
    if ok is None:
        state.warn(message)
    elif not state.json:
        state.note("Check: %s." % message)


def _uri_from_qr(state, qr_image):
    """The one account URI in an image file (`qr_image`) or on the screen (None)."""
    from ..otpauth import is_steam
    from ..qr import QrError, read_image, read_screen

    where = qr_image or "the screen"
    try:
        texts = read_image(qr_image) if qr_image else read_screen()
    except QrError as exc:
        raise ExpectedError(str(exc)) from None
    found = [t for t in texts if t.lower().startswith("otpauth:") or is_steam(t)]
    if any(t.lower().startswith("otpauth-migration:") for t in texts):
        raise ExpectedError(
            "%s holds a Google Authenticator export; use `otpfob import`%s"
            % (where, (" " + qr_image) if qr_image else " with a screenshot of it")
        )
    if not found:
        raise ExpectedError("%s: the QR code holds no otpauth:// URI" % where)
    if len(found) > 1:
        raise ExpectedError(
            "%s holds %d account QR codes; use `otpfob import` with a "
            "screenshot" % (where, len(found))
        )
    return found[0]


def _plain_account(secret, name, issuer, digits, period, algorithm):
    from ..otpauth import Account, OtpauthError, decode_secret

    try:
        key = decode_secret(secret)
    except OtpauthError as exc:
        raise ExpectedError(str(exc)) from None
    algo = (algorithm or "SHA1").upper()
    return Account(
        name,
        key,
        issuer=issuer or "",
        algorithm=algo,
        digits=int(digits) if digits else (5 if algo == "STEAM" else 6),
        period=period or 30,
    )


def _steam_account(secret, name, issuer, digits, period, algorithm, hotp=False):
    """A steam://BASE32 secret: always a Steam Guard account (5 characters, 30 s)."""
    from ..otpauth import OtpauthError, parse_steam

    if (algorithm and algorithm.upper() != "STEAM") or digits or period or hotp:
        raise click.UsageError(
            "a steam:// secret is a Steam Guard account (5 characters "
            "every 30 s): leave out --algorithm, --digits, --period and "
            "--hotp"
        )
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
            return ExpectedError(
                "%s is already on the fob; add --force (-f) to replace it" % account.label
            )
        if exc.code == "full":
            return ExpectedError("the fob is full: %s; `otpfob delete` makes room" % exc.message)
    if isinstance(exc, OtpfobError):
        return explain(exc)
    return exc


@click.command()
@click.argument("query", required=False)
@click.option(
    "-s",
    "--single",
    is_flag=True,
    help="Print only the code of the one account QUERY names (for scripts).",
)
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
        accounts = client.credentials()
        if query is not None:
            chosen = resolve(accounts, query)
        elif len(accounts) == 1:
            chosen = accounts[0]
        else:
            raise ExpectedError(
                "--single needs a QUERY that names one account (the fob has "
                "%s)" % plural(len(accounts), "account"),
                EXIT_USAGE,
            )
        got = client.codes(chosen.index)
        if not got or not got[0].value:
            why = got[0].error if got else None
            raise ExpectedError(
                "%s: %s" % (chosen.label, why[1] if why else "the fob gave no code")
            )
        if state.json:
            state.emit_json(numbered(got[0]))
        else:
            click.echo(got[0].value)
        return
    if query is None:
        with state.activity("Computing the codes on the fob"):
            codes = client.codes()
    else:
        chosen_ones = filter_accounts(client.credentials(), query)
        if len(chosen_ones) == 1:
            codes = client.codes(chosen_ones[0].index)
        else:
            with state.activity("Computing the codes on the fob"):
                codes = client.codes()
            wanted = {a.index for a in chosen_ones}
            codes = [c for c in codes if c.index in wanted]
    if state.json:
        # The fob's time of the computation makes each code checkable against other tools.
        state.emit_json([numbered(c) for c in codes])
        return
    if not codes:
        state.note("The fob has no accounts yet.")
        return
    from rich.table import Table

    table = Table()
    table.add_column("#", justify="right")
    table.add_column("Issuer")
    table.add_column("Account")
    table.add_column("Code", justify="right", style="bold")
    table.add_column("Left", justify="right")
    for c in codes:
        if c.value:
            shown = group_code(c.value)
        else:
            shown = "error: %s" % (c.error[1] if c.error else "?")
        left = ("HOTP #%s" % c.counter) if c.kind == "hotp" else "%ss" % c.seconds_left
        table.add_row(str(c.index + 1), c.issuer, c.name, shown, left)
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
    target = resolve(client.credentials(), query)
    confirm(state, "Delete %s from the fob?" % target.label, force)
    reply = client.delete(issuer=target.issuer, name=target.name)
    gone = reply.get("deleted") or {
        "index": target.index,
        "issuer": target.issuer,
        "name": target.name,
    }
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
    accounts = client.credentials()
    target = resolve(accounts, query)
    strips = label_strips(
        state,
        client,
        [(target.issuer if issuer is None else issuer, new_name)],
        accounts,
    )
    reply = client.rename(target.index, new_name, issuer, strips=strips)
    result = numbered(reply)
    if state.json:
        state.emit_json(result)
    else:
        state.note("Renamed %s to %s." % (label_of(target), label_of(result)))
