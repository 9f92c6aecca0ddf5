"""The `otpfob` command line.

Start-up time matters (`otpfob code` is typed many times a day), so only click is imported
here; rich, pyserial, Pillow and zxing-cpp are imported inside the commands that use them,
and the `sim` and `deploy` commands are loaded only when invoked.
"""

import importlib
import json
import os
import re
import sys
import time

import click

ALGORITHM_CHOICES = ("SHA1", "SHA256", "SHA512", "STEAM")

# name -> (module, attribute, short help shown by --help without importing the module)
LAZY_COMMANDS = {
    "deploy": ("otpfob.deploy", "deploy_command", "Copy the firmware to a CIRCUITPY drive."),
    "fleet": ("otpfob.fleet", "fleet", "Provision many fobs for many users (Entra ID CSV)."),
    "sim": ("otpfob.sim.command", "sim", "Run the simulated fob (terminal or headless)."),
}


class ExpectedError(click.ClickException):
    """An error the user can act on: one line on stderr, exit status 1, no traceback."""

    def show(self, file=None):
        click.echo("otpfob: error: %s" % self.format_message(), err=True)


def _expected_error_types():
    # Only modules already loaded can have raised; importing the rest here would cost time.
    types = []
    for module, name in (("otpfob.transport", "TransportError"), ("otpfob.client", "FobError"),
                         ("otpfob.otpauth", "OtpauthError"), ("otpfob.qr", "QrError"),
                         ("otpfob.auth", "PasswordError"),
                         ("otpfob.keystore", "KeystoreError")):
        mod = sys.modules.get(module)
        if mod is not None:
            types.append(getattr(mod, name))
    return tuple(types)


class FobGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(click.Group.list_commands(self, ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        cmd = click.Group.get_command(self, ctx, name)
        if cmd is not None or name not in LAZY_COMMANDS:
            return cmd
        module, attr, _ = LAZY_COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ExpectedError("the %s command is not available in this installation (%s)"
                                % (name, exc)) from None

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
                continue
            cmd = click.Group.get_command(self, ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width - 20)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return click.Group.invoke(self, ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, _expected_error_types()):
                raise ExpectedError(str(exc)) from None
            raise


class State:
    """Per-invocation settings and the lazily opened connection to the fob."""

    def __init__(self, ctx, port, as_json, timeout, password=None):
        self.ctx = ctx
        self.port = port
        self.json = as_json
        self.timeout = timeout
        self.password = password
        self._client = None

    @property
    def interactive(self):
        return not self.json and sys.stdin.isatty()

    def client(self):
        if self._client is None:
            from .client import FobClient
            from .transport import connect

            transport = connect(self.port, choose=self._choose if self.interactive else None)
            self._client = FobClient(transport, timeout=self.timeout)
            self._client.on_prompt = self._press_prompt
            self._client.password_provider = self.get_password
            self.ctx.call_on_close(self._client.close)
        return self._client

    def _press_prompt(self, prompt):
        click.echo("Press the button on the fob to confirm (A = yes, B = no): %s"
                   % prompt, err=True)

    def get_password(self, client, what="Password"):
        """The management password: --password / OTPFOB_PASSWORD, then the OS keyring
        (entries made by `otpfob password remember`), then a hidden prompt."""
        if self.password:
            return self.password
        from . import keystore

        serial = None
        try:
            serial = client.info().get("serial")
        except Exception:
            pass
        stored = keystore.get(serial)
        if stored:
            return stored
        if not sys.stdin.isatty() or self.json:
            return None
        return click.prompt(what + " of fob %s" % (serial or "?"), hide_input=True, err=True)

    def _choose(self, ports):
        from .transport import describe

        click.echo("Several fobs are connected:", err=True)
        for i, p in enumerate(ports, 1):
            click.echo("  %d. %s" % (i, describe(p)), err=True)
        n = click.prompt("Which one", type=click.IntRange(1, len(ports)), err=True)
        return ports[n - 1]

    def emit_json(self, data):
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))

    def console(self):
        from rich.console import Console

        return Console(highlight=False)

    def warn(self, message):
        click.echo("otpfob: warning: %s" % message, err=True)

    def note(self, message):
        """Human progress messages; kept off stdout under --json so it stays parseable."""
        click.echo(message, err=self.json)


pass_state = click.make_pass_decorator(State)


@click.group(cls=FobGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--port", envvar="OTPFOB_PORT", metavar="PORT|URL",
              help="Device path or pyserial URL (socket://HOST:PORT) of the fob's data "
                   "channel. Found by its USB interface when omitted. Env: OTPFOB_PORT.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--timeout", type=float, default=5.0, show_default=True, envvar="OTPFOB_TIMEOUT",
              help="Seconds to wait for each reply.")
@click.option("--password", envvar="OTPFOB_PASSWORD", metavar="PASSWORD",
              help="The fob's management password, when it has one (else asked for). "
                   "Env: OTPFOB_PASSWORD.")
@click.version_option(package_name="otpfob", message="otpfob %(version)s")
@click.pass_context
def main(ctx, port, as_json, timeout, password):
    """Provision and use an otpfob TOTP token.

    QUERY arguments match "issuer:name" as a case-insensitive substring; an exact match
    wins, and #N picks the N-th account of `otpfob list`.
    """
    ctx.obj = State(ctx, port, as_json, timeout, password)


# --- helpers --------------------------------------------------------------------------------

def label_of(entry):
    issuer = entry.get("issuer") or ""
    return "%s:%s" % (issuer, entry["name"]) if issuer else entry["name"]


def resolve(accounts, query):
    """The one account QUERY names, or an ExpectedError listing the candidates."""
    q = query.strip().lower()
    if q.startswith("#") and q[1:].isdigit():
        n = int(q[1:])
        if not 1 <= n <= len(accounts):
            raise ExpectedError("no account #%d (the fob has %d)" % (n, len(accounts)))
        return accounts[n - 1]
    matches = [a for a in accounts if q in label_of(a).lower()]
    if not matches:
        raise ExpectedError("no account matches %r" % query)
    if len(matches) == 1:
        return matches[0]
    for key in (label_of, lambda a: a["name"], lambda a: a.get("issuer") or ""):
        exact = [a for a in matches if key(a).lower() == q]
        if len(exact) == 1:
            return exact[0]
    raise ExpectedError("%r is ambiguous; it matches %s" % (
        query, ", ".join(label_of(a) for a in matches)))


def filter_accounts(accounts, query):
    if query is None:
        return list(accounts)
    q = query.strip().lower()
    if q.startswith("#") and q[1:].isdigit():
        return [resolve(accounts, query)]
    exact = [a for a in accounts if label_of(a).lower() == q]
    if exact:
        return exact
    matches = [a for a in accounts if q in label_of(a).lower()]
    if not matches:
        raise ExpectedError("no account matches %r" % query)
    return matches


def group_code(code):
    if code is None:
        return "-"
    if len(code) == 6:
        return code[:3] + " " + code[3:]
    if len(code) == 8:
        return code[:4] + " " + code[4:]
    if len(code) == 7:
        return code[:3] + " " + code[3:]
    return code


def utc(epoch):
    if epoch is None:
        return "not set"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def firmware_engine():
    """The firmware's own OTP engine, so the host checks codes with the code the fob runs."""
    try:
        from fob import otp  # noqa: F401 - already importable (tests, an installed firmware lib)

        return otp
    except ImportError:
        pass
    from pathlib import Path

    lib = Path(__file__).resolve().parents[2] / "firmware" / "lib"
    if (lib / "fob" / "otp.py").is_file():
        sys.path.insert(0, str(lib))
        try:
            from fob import otp

            return otp
        except ImportError:
            return None
    return None


def expected_codes(account, times):
    otp = firmware_engine()
    if otp is None:
        return None
    digits = 5 if account.algorithm == "STEAM" else account.digits
    return {otp.totp(account.secret, int(t), digits=digits, period=account.period,
                     algorithm=account.algorithm.lower()) for t in times}


def verify_code(state, client, account, index):
    """Ask the fob for the new account's code and compare with the host's own computation.

    Returns (ok, message). Codes computed just before the request and just after the reply
    are both accepted, so a period boundary between the two is not a mismatch.
    """
    from .client import FobError

    before = time.time()
    try:
        reply = client.code(index)
    except FobError as exc:
        if exc.code == "clock_not_set":
            return False, ("the fob's clock is not set, so its code could not be checked; "
                           "run `otpfob time set`")
        raise
    after = time.time()
    entry = (reply.get("codes") or [{}])[0]
    got = entry.get("code")
    expected = expected_codes(account, (before - 1, before, after, after + 1))
    if expected is None:
        return None, ("the firmware's OTP engine (firmware/lib/fob/otp.py) was not found, so "
                      "the code was not checked; the fob shows %s" % group_code(got))
    strict = expected_codes(account, (before, after))
    if got in strict:
        return True, "the fob's code %s matches" % group_code(got)
    fob_time = reply.get("time")
    if fob_time is not None:
        # A whole-second reading t stands for somewhere in [t, t+1).
        drift = fob_time + 0.5 - (before + after) / 2
        if abs(drift) >= 1.5:
            return False, ("the fob's code %s differs from this computer's %s: the fob's clock "
                           "is off by %+.0f s; run `otpfob time set`"
                           % (group_code(got), group_code(sorted(strict)[0]), drift))
    if got in expected:
        return True, "the fob's code %s matches (within a second)" % group_code(got)
    return False, ("the fob's code %s differs from this computer's %s for the same secret"
                   % (group_code(got), group_code(sorted(strict)[0])))


def confirm(state, question, force):
    if force:
        return
    if state.json:
        raise ExpectedError("refusing without confirmation under --json; add --force")
    if not click.confirm(question, default=False, err=True):
        raise ExpectedError("not confirmed; nothing changed")


# --- commands -------------------------------------------------------------------------------

@main.command()
@pass_state
def info(state):
    """Show the fob's identity, capacity and clock."""
    reply = state.client().info()
    data = {k: v for k, v in reply.items() if k not in ("id", "ok")}
    est = clock_estimate(state, data.get("serial"), data.get("aging"))
    if state.json:
        data["clock_estimate"] = None if est is None else {
            k: (None if v is None else round(v, 4 if k != "ppm" else 3))
            for k, v in est.items()}
        state.emit_json(data)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Serial", data.get("serial")),
        ("Board", data.get("board")),
        ("Firmware", "%s (protocol %s)" % (data.get("firmware"), data.get("protocol"))),
        ("Accounts", "%s of %s" % (data.get("accounts"), data.get("capacity"))),
        ("Flash", "%s bytes used, %s free" % (data.get("bytes_used"), data.get("bytes_free"))),
        ("Time", utc(data.get("time")) if data.get("time") is not None
         else "not set (%s)" % data.get("clock")),
        ("Clock error", _estimate_text(est) if data.get("time") is not None
         else "the clock is not set: otpfob time set"),
        ("Aging offset", data.get("aging")),
        ("Password", ("set, %s tries left before the fob erases itself"
                      % data.get("tries_left")) if data.get("password") else "none"),
        ("Press to add", "no (turned off by the admin)" if data.get("add_presence") is False
         else "yes"),
    ]
    if data.get("battery"):
        rows.append(("Battery", _battery_text(data["battery"])))
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    state.console().print(table)


def _battery_text(b):
    if b.get("external"):
        return "on external power (%s V)" % b.get("volts")
    return "%s%% (%s V)%s" % (b.get("percent"), b.get("volts"), ", low" if b.get("low") else "")


@main.command(name="list")
@pass_state
def list_(state):
    """List the accounts on the fob, in the fob's order."""
    accounts = state.client().list()["accounts"]
    if state.json:
        state.emit_json(accounts)
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


@main.command()
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
@click.option("--force", is_flag=True, help="Replace an existing account with the same label.")
@pass_state
def add(state, name, secret, issuer, digits, period, algorithm, uri, qr_image, force):
    """Add one account.

    Give NAME and leave out SECRET to type the base32 secret at a hidden prompt (so it stays
    out of your shell history), or give --uri or --qr instead. A steam://BASE32 secret
    (at the prompt, as SECRET or as --uri) adds a Steam Guard account.
    """
    from .otpauth import Account, is_steam, parse_uri

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
            from .qr import read_image

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
        reply = client.add(account, overwrite=force)
    except Exception as exc:
        raise _explain_add_error(exc, account) from None
    if reply.get("warning"):
        state.warn(reply["warning"])
    index = reply.get("index")
    ok, message = verify_code(state, client, account, index)
    verb = "Replaced" if reply.get("replaced") else "Added"
    if state.json:
        state.emit_json({"index": index, "issuer": account.issuer, "name": account.name,
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
    from .otpauth import Account, OtpauthError, decode_secret

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
    from .otpauth import OtpauthError, parse_steam

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
    from .client import FobError

    if isinstance(exc, FobError):
        if exc.code == "duplicate":
            return ExpectedError("%s is already on the fob; add --force to replace it"
                                 % account.label)
        if exc.code == "full":
            return ExpectedError("the fob is full: %s" % exc.message)
        return ExpectedError(exc.message)
    if isinstance(exc, _expected_error_types()):
        return ExpectedError(str(exc))
    return exc


def read_sources(state, sources):
    """Accounts from URIs, text files and QR images; one merged list, in the order given."""
    from . import migration
    from .otpauth import OtpauthError, parse_uri

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
            from .qr import read_image

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


@main.command(name="import")
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
    from .client import FobError

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


@main.command()
@click.argument("query", required=False)
@pass_state
def code(state, query):
    """Show current codes (all accounts, or those QUERY matches)."""
    client = state.client()
    if query is None:
        reply = client.code()
        entries = reply.get("codes", [])
    else:
        accounts = client.list()["accounts"]
        chosen = filter_accounts(accounts, query)
        if len(chosen) == 1:
            reply = client.code(chosen[0]["index"])
            entries = reply.get("codes", [])
        else:
            reply = client.code()
            wanted = {a["index"] for a in chosen}
            entries = [e for e in reply.get("codes", []) if e.get("index") in wanted]
    if state.json:
        # The fob's time of the computation makes each code checkable against other tools.
        state.emit_json([dict(e, time=reply.get("time")) for e in entries])
        return
    if not entries:
        state.note("The fob has no accounts yet.")
        return
    from rich.table import Table

    table = Table()
    table.add_column("Issuer")
    table.add_column("Account")
    table.add_column("Code", justify="right", style="bold")
    table.add_column("Left", justify="right")
    for e in entries:
        shown = group_code(e.get("code")) if e.get("code") else (
            "error: %s" % (e.get("error") or {}).get("message", "?"))
        table.add_row(e.get("issuer") or "", e["name"], shown, "%ss" % e.get("seconds_left"))
    state.console().print(table)


@main.command()
@click.argument("query")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def delete(state, query, force):
    """Delete the account QUERY names."""
    client = state.client()
    target = resolve(client.list()["accounts"], query)
    confirm(state, "Delete %s from the fob?" % label_of(target), force)
    reply = client.delete(issuer=target.get("issuer") or "", name=target["name"])
    gone = reply.get("deleted", target)
    if state.json:
        state.emit_json(gone)
    else:
        state.note("Deleted %s." % label_of(gone))


@main.command()
@click.argument("query")
@click.argument("new_name")
@click.option("--issuer", help="New issuer (unchanged when omitted).")
@pass_state
def rename(state, query, new_name, issuer):
    """Rename the account QUERY names to NEW_NAME."""
    from .otpauth import check_label

    check_label("name", new_name)
    if issuer:
        check_label("issuer", issuer)
    client = state.client()
    target = resolve(client.list()["accounts"], query)
    reply = client.rename(target["index"], new_name, issuer)
    result = {k: v for k, v in reply.items() if k not in ("id", "ok")}
    if state.json:
        state.emit_json(result)
    else:
        state.note("Renamed %s to %s." % (label_of(target), label_of(result)))


# --- settings -------------------------------------------------------------------------------

# The settings `otpfob settings set` knows, and how their values are written.
SETTING_KINDS = {"privacy": "bool", "idle_timeout": "int", "typing": "bool", "layout": "str",
                 "add_presence": "bool"}
_BOOL_WORDS = {"on": True, "off": False, "true": True, "false": False, "yes": True,
               "no": False, "1": True, "0": False}
_SETTINGS_SHOWN = ("typing", "layout", "privacy", "idle_timeout", "add_presence", "keyboard")


def parse_setting(key, value):
    """(setting name, wire value) from the words `otpfob settings set KEY VALUE` got."""
    name = key.strip().lower().replace("-", "_")
    kind = SETTING_KINDS.get(name)
    if kind is None:
        raise ExpectedError("no setting %r; settings are %s" % (key, ", ".join(SETTING_KINDS)))
    text = value.strip()
    if kind == "bool":
        if text.lower() not in _BOOL_WORDS:
            raise ExpectedError("%s must be on or off, not %r" % (name, value))
        return name, _BOOL_WORDS[text.lower()]
    if kind == "int":
        try:
            return name, int(text)
        except ValueError:
            raise ExpectedError("%s must be a whole number of seconds, not %r"
                                % (name, value)) from None
    return name, text.lower()


def _settings_call(fn, **kw):
    from .client import FobError

    try:
        return fn(**kw)
    except FobError as exc:
        if exc.code == "unknown_command":
            raise ExpectedError("this fob's firmware has no settings commands; update it "
                                "with `otpfob deploy`") from None
        raise ExpectedError(exc.message) from None


def _show_settings(state, data):
    if state.json:
        state.emit_json(data)
        return
    from rich.table import Table

    words = {True: "on", False: "off", None: "-"}
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key in _SETTINGS_SHOWN:
        if key not in data:
            continue
        value = data[key]
        if key == "idle_timeout":
            text = "%s s" % value
        elif key == "layout":
            text = "%s (of %s)" % (value, ", ".join(data.get("layouts") or ()))
        elif key == "keyboard":
            text = {True: "enabled now", False: "not enabled now",
                    None: "not available"}.get(value, str(value))
        else:
            text = words.get(value, str(value))
        table.add_row(key, text)
    state.console().print(table)


def _keyboard_hint(data):
    """What to do when the USB keyboard is not (or still) there as typing asks."""
    if data.get("typing") and data.get("keyboard") is False:
        return ("unplug the fob and plug it in again: its USB keyboard is switched on at "
                "plug-in")
    if not data.get("typing") and data.get("keyboard"):
        return "the USB keyboard stays until the fob is unplugged and plugged in again"
    return None


@main.group(name="settings", invoke_without_command=True)
@click.pass_context
def settings_group(ctx):
    """Show or change the fob's settings (typing, layout, privacy, idle_timeout).

    `otpfob settings` alone shows them.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(settings_show)


@settings_group.command(name="show")
@pass_state
def settings_show(state):
    """Show the fob's settings."""
    reply = _settings_call(state.client().settings_get)
    _show_settings(state, {k: v for k, v in reply.items() if k not in ("id", "ok")})


@settings_group.command(name="set")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY VALUE [KEY VALUE]...")
@pass_state
def settings_set(state, pairs):
    """Change settings; all are checked before any is changed.

    \b
    typing on|off      a long press types the code and Enter as a USB keyboard
    layout us|de|fr    the computer's keyboard layout for typing
    privacy on|off     hide codes until an entry is selected
    idle_timeout SECS  blank the screen after this long (5-3600)
    """
    if len(pairs) % 2:
        raise click.UsageError("give KEY VALUE pairs (%s has no value)" % pairs[-1])
    wanted = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        name, wire = parse_setting(key, value)
        wanted[name] = wire
    reply = _settings_call(state.client().settings_set, **wanted)
    data = {k: v for k, v in reply.items() if k not in ("id", "ok")}
    # A fob ignores names it does not know (protocol rule), so check each one took.
    missing = [k for k in wanted if k not in data]
    if missing:
        raise ExpectedError("this fob's firmware has no setting %s; update it with "
                            "`otpfob deploy`" % ", ".join(missing))
    if data.get("saved") is False:
        state.warn("the fob could not write its settings file (is its drive writable by "
                   "the computer?); the new settings hold until it restarts")
    hint = _keyboard_hint(data) if "typing" in wanted else None
    if hint:
        state.warn(hint)
    if not state.json:
        state.note("Changed %s." % ", ".join("%s to %s" % (
            k, ("on" if v else "off") if isinstance(v, bool) else v)
            for k, v in wanted.items()))
    _show_settings(state, data)


@main.group(name="time")
def time_group():
    """Show or set the fob's clock (UTC)."""


def measure(client):
    """(time_get reply, laptop time at the middle of the round trip, round trip seconds)."""
    t0 = time.time()
    reply = client.time_get()
    t1 = time.time()
    return reply, (t0 + t1) / 2, t1 - t0


TICKS_HELP = ("Fob second ticks to time after the first (more: finer reading, one second "
              "each).")


def measure_offset(client, ticks=2):
    """The fob's clock offset from this computer's, to a few milliseconds (calibration)."""
    from .calibration import measure_offset as measure_ticks

    return measure_ticks(client.time_get, ticks=ticks)


def _drift_text(drift, error=None):
    if drift is None:
        return "unknown"
    text = "%+.3f s" % drift
    if error is not None:
        text += " \u00b1%.3f" % error
    return text + " (fob %s)" % ("ahead" if drift > 0.005 else "behind"
                                 if drift < -0.005 else "in step")


def _history(state):
    """The local clock history (in OTPFOB_HOME, else the user's data folder)."""
    from .calibration import History

    return History()


def _record(state, serial, event):
    """Append a reading to the fob's clock history; a failure only warns."""
    from .calibration import CalibrationError

    try:
        _history(state).record(serial, event)
        return True
    except (CalibrationError, OSError) as exc:
        state.warn("clock reading not recorded: %s" % exc)
        return False


def _events(state, serial):
    from .calibration import CalibrationError

    if not serial:
        return []
    try:
        return _history(state).events(serial)
    except CalibrationError as exc:
        state.warn(str(exc))
        return []


def _duration(seconds):
    from .calibration import _duration as text

    return text(seconds)


def clock_estimate(state, serial, aging=None):
    """What the history says about the fob's clock now (for `info`), or None."""
    from .calibration import predict

    events = _events(state, serial)
    return predict(events, now=time.time(), aging=aging) if events else None


def _estimate_text(est):
    if est is None:
        return "unknown (no clock readings on this computer yet; `otpfob time show` takes one)"
    ago = _duration(est["since"]) + " ago"
    if est["offset_then"] is None:
        return "unknown (at the last reading, %s, the clock was not set)" % ago
    if est["ppm"] is None:
        return ("unknown drift (last reading %s: %+.3f s; readings a day apart give the "
                "drift)" % (ago, est["offset_then"]))
    return "about %+.2f s now (%+.3f s at the last reading %s, %+.2f ppm since)" % (
        est["offset"], est["offset_then"], ago, est["ppm"])


def _serial_and_aging(client):
    info = client.info()
    return info, info.get("serial") or "", info.get("aging")


@time_group.command(name="show")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True,
              help=TICKS_HELP)
@pass_state
def time_show(state, ticks):
    """Compare the fob's clock with this computer's (takes a few seconds).

    The reading is kept in this computer's clock history for the fob, which `otpfob time
    calibrate` and `otpfob info` use.
    """
    from . import calibration

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    m = measure_offset(client, ticks)
    reply = m.reply
    aging = reply.get("aging", aging)
    fob_time = reply.get("time")
    recorded = False
    if m.valid:
        recorded = _record(state, serial, calibration.event("show", m, aging))
    est = calibration.predict(_events(state, serial), now=time.time(), aging=aging) \
        if recorded else None
    ppm = est["ppm"] if est else None
    if state.json:
        state.emit_json({"fob": fob_time, "laptop": round(time.time(), 3),
                         "drift": None if m.offset is None else round(m.offset, 4),
                         "error": None if m.error is None else round(m.error, 4),
                         "valid": bool(reply.get("valid")), "clock": reply.get("clock"),
                         "round_trip": None if m.round_trip is None else round(m.round_trip, 4),
                         "serial": serial, "aging": aging, "recorded": recorded,
                         "ppm": None if ppm is None else round(ppm, 3)})
        return
    click.echo("fob:    %s" % (utc(fob_time) if fob_time is not None
                               else "not set (%s)" % reply.get("clock")))
    click.echo("laptop: %s" % utc(int(time.time())))
    if fob_time is not None:
        click.echo("drift:  %s" % _drift_text(m.offset, m.error))
        if ppm is not None:
            click.echo("rate:   %+.2f ppm (aging offset %s)" % (ppm, aging))
    else:
        click.echo("The fob shows no codes until its clock is set: otpfob time set")


@time_group.command(name="set")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True,
              help=TICKS_HELP)
@click.option("--force", is_flag=True,
              help="Allow setting the clock more than 30 s before the latest time the fob "
                   "has seen (also needs a press on the fob).")
@pass_state
def time_set(state, ticks, force):
    """Set the fob's clock from this computer's clock.

    The DS3231 restarts its second when the time is written, so the request is timed to
    reach the fob as this computer's clock turns to a whole second (half a measured round
    trip early); the fob then ticks in step with this computer. The offset just after (and
    just before, when the fob has readings in the history) is measured and kept in the
    fob's clock history.
    """
    from . import calibration

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    # The offset just before the set ends the stretch of readings since the last one; it
    # is worth its seconds only when there is such a stretch in this computer's history.
    before = None
    if info.get("time") is not None and any(
            e.get("offset") is not None for e in _events(state, serial)):
        before = measure_offset(client, ticks)
        if not before.valid:
            before = None
    rtts = sorted(measure(client)[2] for _ in range(3))
    half = rtts[1] / 2
    now = time.time()
    target = int(now + half) + 1
    if target - half - now < 0.05:
        target += 1
    time.sleep(max(0.0, target - half - time.time()))
    from .client import FobError

    try:
        client.time_set(target, force=force)
    except FobError as e:
        if e.code == "time_backwards":
            raise ExpectedError("this computer's clock is behind the latest time the fob has "
                                "seen (%s); check this computer's clock, or add --force"
                                % e.message) from None
        raise
    after = measure_offset(client, ticks)
    check = after.reply
    aging = check.get("aging", aging)
    recorded = False
    if after.valid:
        recorded = _record(state, serial, calibration.event("set", after, aging, True,
                                                            before=before))
    drift = after.offset
    if state.json:
        state.emit_json({"set": target, "fob": check.get("time"),
                         "drift": None if drift is None else round(drift, 4),
                         "error": None if after.error is None else round(after.error, 4),
                         "before": None if before is None else round(before.offset, 4),
                         "round_trip": round(2 * half, 4), "valid": bool(check.get("valid")),
                         "serial": serial, "aging": aging, "recorded": recorded})
        return
    if before is not None:
        state.note("The fob's clock was off by %s." % _drift_text(before.offset, before.error))
    state.note("Set the fob's clock to %s (round trip %.1f ms); drift now %s."
               % (utc(target), 2000 * half, _drift_text(drift, after.error)))


@time_group.command(name="calibrate")
@click.option("--dry-run", is_flag=True, help="Show the new aging offset; write nothing.")
@click.option("--ticks", type=click.IntRange(1, 20), default=2, show_default=True,
              help=TICKS_HELP)
@pass_state
def time_calibrate(state, dry_run, ticks):
    """Trim the fob's clock rate from readings at least a day apart.

    Takes a reading now, estimates how fast the fob's clock gains or loses time (in ppm)
    from its history on this computer, and writes the DS3231's aging offset to cancel it
    (one step is about 0.1 ppm). Run `otpfob time set` afterwards if the fob is off.
    """
    from . import calibration
    from .calibration import CalibrationError

    client = state.client()
    info, serial, aging = _serial_and_aging(client)
    if not serial:
        raise ExpectedError("the fob reports no serial number, so it has no clock history")
    if "aging_set" not in (info.get("capabilities") or ()):
        raise ExpectedError("this fob's firmware cannot trim its clock (no aging_set "
                            "command); update the firmware with `otpfob deploy`")
    if aging is None:
        aging = client.aging_get()["aging"]
    m = measure_offset(client, ticks)
    if not m.valid:
        raise ExpectedError("the fob's clock is not set (%s); run `otpfob time set`, then "
                            "`otpfob time show` again a day later"
                            % m.reply.get("clock"))
    aging = m.reply.get("aging", aging)
    events = _events(state, serial)
    reading = calibration.event("show", m, aging)
    try:
        est = calibration.estimate(events + [reading], aging=aging, now=time.time())
    except CalibrationError as exc:
        _record(state, serial, reading)
        raise ExpectedError(str(exc)) from None
    new = est["new_aging"]
    written = False
    if not dry_run and new != aging:
        reply = client.aging_set(new)
        new = reply.get("aging", new)
        written = True
        _record(state, serial, calibration.event("calibrate", m, new, aging_before=aging))
    else:
        _record(state, serial, reading)
    result = {"serial": serial, "ppm": round(est["ppm"], 3),
              "native_ppm": round(est["native_ppm"], 3),
              "error_ppm": round(est["error_ppm"], 3), "span": round(est["span"], 1),
              "readings": est["readings"], "aging_before": aging, "aging": new,
              "clamped": est["clamped"], "expected_ppm": round(est["expected_ppm"], 3),
              "written": written, "dry_run": bool(dry_run),
              "offset": round(m.offset, 4), "error": round(m.error, 4)}
    if state.json:
        state.emit_json(result)
        return
    state.note("The fob's clock %s %.2f ppm (\u00b1%.2f) over %s of readings (%d), with "
               "aging offset %d." % ("gains" if est["ppm"] >= 0 else "loses", abs(est["ppm"]),
                                     est["error_ppm"], _duration(est["span"]),
                                     est["readings"], aging))
    if est["clamped"]:
        state.warn("the drift is beyond what the aging offset can trim (%d to %d); the "
                   "offset goes to its limit" % (calibration.AGING_MIN, calibration.AGING_MAX))
    if new == aging:
        state.note("The aging offset %d is already the best one; nothing to change." % aging)
    elif dry_run:
        state.note("Would set the aging offset from %d to %d (about %+.2f ppm left); dry run, "
                   "nothing written." % (aging, new, est["expected_ppm"]))
    else:
        state.note("Set the aging offset from %d to %d; expect about %+.2f ppm from now on. "
                   "The clock is %s now: run `otpfob time set` to correct it."
                   % (aging, new, est["expected_ppm"], _drift_text(m.offset, m.error)))


@main.command()
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def reset(state, force):
    """Erase every account on the fob."""
    client = state.client()
    # info, not list: a fob whose password is forgotten can still be reset (on the fob).
    count = client.info()["accounts"]
    confirm(state, "Erase all %d accounts and the password on the fob? This cannot be "
            "undone." % count, force)
    reply = client.reset()
    if state.json:
        state.emit_json({"erased": count, "accounts": reply.get("accounts", 0)})
    else:
        state.note("Erased %d accounts." % count)


@main.command()
@pass_state
def selftest(state):
    """Run the RFC 4226 / 6238 test vectors on the fob's OTP engine."""
    reply = state.client().selftest()
    checks = reply.get("checks", [])
    passed = bool(reply.get("pass"))
    if state.json:
        state.emit_json({"pass": passed, "checks": checks})
    else:
        for c in checks:
            line = "%s  %s" % ("ok  " if c.get("pass") else "FAIL", c.get("name"))
            if not c.get("pass"):
                line += " (expected %s, got %s)" % (c.get("expected"), c.get("got"))
            click.echo(line)
        state.note("%d checks, %s." % (len(checks), "all passed" if passed else "FAILED"))
    if not passed:
        raise ExpectedError("the fob's self-test failed")


# --- the management password ----------------------------------------------------------------

@main.group(name="password")
def password_group():
    """Protect the fob with a management password (set, change, clear, remember)."""


def _new_password(state):
    pw = os.environ.get("OTPFOB_NEW_PASSWORD")
    if pw:
        return pw
    if state.json or not sys.stdin.isatty():
        raise ExpectedError("no new password: set OTPFOB_NEW_PASSWORD or run in a terminal")
    return click.prompt("New password", hide_input=True, confirmation_prompt="Repeat it",
                        err=True)


ITERATIONS_HELP = ("PBKDF2-HMAC-SHA256 iterations on this computer for each login "
                   "(at least 10000).")


# auth.ITERATIONS, written out so that loading the CLI does not import hashlib (a test
# keeps the two equal).
DEFAULT_ITERATIONS = 600_000


def _iterations_option(f):
    return click.option("--iterations", type=click.IntRange(10000, 100000000),
                        default=DEFAULT_ITERATIONS, show_default=True,
                        help=ITERATIONS_HELP)(f)


def _password_done(state, text, reply):
    if state.json:
        state.emit_json({k: v for k, v in reply.items() if k not in ("id", "ok")})
    else:
        state.note(text)


@password_group.command(name="set")
@_iterations_option
@pass_state
def password_set(state, iterations):
    """Give a fob without a password its first one (press the fob's button to confirm)."""
    client = state.client()
    if client.info().get("password"):
        raise ExpectedError("this fob already has a password; use `otpfob password change`")
    new = _new_password(state)
    reply = client.password_set(new, iterations=iterations)
    _password_done(state, "Password set: from now on the fob answers only info until "
                   "it is given (8 wrong tries in a row erase it).", reply)


@password_group.command(name="change")
@_iterations_option
@pass_state
def password_change(state, iterations):
    """Change the password (log in with the current one, then press the fob's button)."""
    client = state.client()
    if not client.info().get("password"):
        raise ExpectedError("this fob has no password yet; use `otpfob password set`")
    client.login(_current_password(state, client))
    new = _new_password(state)
    reply = client.password_set(new, iterations=iterations)
    from . import keystore

    serial = client.info().get("serial")
    if keystore.get(serial) is not None:
        keystore.put(serial, new)
    _password_done(state, "Password changed.", reply)


@password_group.command(name="clear")
@pass_state
def password_clear(state):
    """Remove the password (log in, then press the fob's button)."""
    client = state.client()
    if not client.info().get("password"):
        raise ExpectedError("this fob has no password")
    client.login(_current_password(state, client))
    reply = client.password_clear()
    _password_done(state, "Password removed: the fob is open to any host again.", reply)


@password_group.command(name="remember")
@pass_state
def password_remember(state):
    """Keep the password in this computer's keyring for this fob (checked first)."""
    from . import keystore

    client = state.client()
    password = _current_password(state, client)
    client.login(password)
    serial = client.info().get("serial")
    keystore.put(serial, password)
    state.note("Password for fob %s kept in the OS keyring." % serial)


@password_group.command(name="forget")
@pass_state
def password_forget(state):
    """Remove this fob's password from this computer's keyring."""
    from . import keystore

    serial = state.client().info().get("serial")
    gone = keystore.forget(serial)
    state.note("Forgotten." if gone else "Nothing was kept for fob %s." % serial)


def _current_password(state, client):
    password = state.get_password(client, "Current password")
    if password is None:
        raise ExpectedError("this fob is protected by a password: give --password, set "
                            "OTPFOB_PASSWORD, or run interactively")
    return password
