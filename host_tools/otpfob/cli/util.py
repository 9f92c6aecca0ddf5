"""Helpers every command module shares: the error type, the per-invocation state and the
connection it opens, and how accounts are named, matched and shown."""

import json
import sys
import time

import click

from ..codecheck import group_code  # noqa: F401 - shown by several commands

# The exit statuses (docs/admin.md lists them for scripts) and the errors' base class.
from ..errors import (  # noqa: F401 - the exit statuses, for the command modules
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NO_FOB,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    OtpfobError,
)

# The wire protocol this otpfob speaks (docs/protocol.md); older firmware is refused.
PROTOCOL = 2


# The fix for a fob error code, added where the fob's message does not name one.
_FOB_HINTS = {
    "clock_not_set": "run `otpfob time set`",
    "clock_fault": "check the wiring between the board and the DS3231; the fob tries again "
    "by itself",
    "no_password": "`otpfob password set` gives the fob one",
    "full": "`otpfob delete` makes room",
    "unknown_command": "update the fob's firmware with `otpfob deploy`",
    "cooldown": "answer on the fob when it asks, or log in first",
    "busy": "answer the question on the fob (B says no) and try again",
}


class ExpectedError(OtpfobError, click.ClickException):
    """An error the command line raises itself: one line on stderr, no traceback, and the
    exit status that says which kind (EXIT_*). Every other OtpfobError becomes one in
    explain()."""

    def __init__(self, message, exit_code=EXIT_ERROR):
        click.ClickException.__init__(self, message)
        self.exit_status = self.exit_code = exit_code

    def show(self, file=None):
        click.echo("otpfob: error: %s" % self.format_message(), err=True)


def explain(exc):
    """The ExpectedError for an OtpfobError: its message (with the fix, for a fob's error
    whose message does not name one) and its exit status."""
    if isinstance(exc, ExpectedError):
        return exc
    message = str(exc)
    hint = _FOB_HINTS.get(exc.fob_code) if isinstance(exc, OtpfobError) else None
    if hint and "otpfob " not in message:
        message = "%s; %s" % (message, hint)
    return ExpectedError(message, getattr(exc, "exit_status", EXIT_ERROR))


def one_line(exc, ctx=None):
    """Any click error as an ExpectedError: usage errors as one line naming --help."""
    if isinstance(exc, ExpectedError):
        return exc
    message = exc.format_message().strip().rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    message = " ".join(message.split())
    if isinstance(exc, click.UsageError):
        ctx = exc.ctx or ctx
        if ctx is not None:
            # The program is otpfob whatever name it was started by (python -m, a runner).
            path = ["otpfob"] + ctx.command_path.split()[1:]
            message += "; see `%s --help`" % " ".join(path)
        return ExpectedError(message, EXIT_USAGE)
    return ExpectedError(message, exc.exit_code or EXIT_ERROR)


def plural(n, word, many=None):
    """ "1 account", "2 accounts", "0 accounts"."""
    return "%d %s" % (n, word if n == 1 else (many or word + "s"))


class State:
    """Per-invocation settings and the lazily opened connection to the fob."""

    def __init__(self, ctx, port, as_json, timeout, password=None, device=None):
        self.ctx = ctx
        self.port = port
        # --device SERIAL: the fob with that serial among those plugged in (otpfob devices).
        self.device = device
        self.json = as_json
        self.timeout = timeout
        self.password = password
        # Set by the commands that make an unprotected fob right again (password set,
        # password forget, reset): they run where otherwise otpfob stops (see
        # _check_protection).
        self.unprotected_ok = False
        self._client = None
        self._activity = None

    @property
    def connected(self):
        """True once this invocation opened a connection to a fob."""
        return self._client is not None

    def interruption(self):
        """What an interruption left on the fob, in words (client.interruption)."""
        if self._client is None:
            return "nothing was sent to the fob, so nothing on it changed"
        return self._client.interruption()

    @property
    def interactive(self):
        return not self.json and sys.stdin.isatty()

    def client(self):
        if self._client is None:
            from ..client import FobClient
            from ..transport import connect

            check_port(self.port)
            port = self.port or (self._find_device() if self.device else None)
            transport = connect(port, choose=self._choose if self.interactive else None)
            self._client = FobClient(transport, timeout=self.timeout)
            self._client.on_prompt = self._press_prompt
            self._client.on_failed_tries = self._failed_tries
            self._client.password_provider = self.get_password
            self.ctx.call_on_close(self._client.close)
            self._check_protection(self._client)
        return self._client

    def _check_protection(self, client):
        """No silent downgrade: a fob without a password, where a password was given or
        this computer saw it with one, may have been reset by someone else; otpfob stops
        and says what to do instead of working on (and adding to) it."""
        from .. import keystore
        from ..known import KnownFobs

        hello = client.hello()
        serial = hello.get("serial")
        if self.device and str(serial or "").lower() != self.device.lower():
            raise ExpectedError(
                "the fob on %s is %s, not %s (--device); `otpfob devices` lists them"
                % (self.port or "the port", serial or "of unknown serial", self.device),
                EXIT_NO_FOB,
            )
        if isinstance(hello.get("protocol"), int) and hello["protocol"] < PROTOCOL:
            raise ExpectedError(
                "fob %s runs older firmware (protocol %d; this otpfob speaks "
                "%d): update it with `otpfob deploy`" % (serial or "?", hello["protocol"], PROTOCOL)
            )
        known = KnownFobs()
        if hello.get("password"):
            known.record(serial, True)
            return
        if self.unprotected_ok:
            return
        if self.password:
            why = "a password was given (--password or OTPFOB_PASSWORD)"
        elif keystore.get(serial):
            why = "this computer's keyring keeps a password for it"
        elif known.had_password(serial):
            why = "it had one when this computer last saw it"
        else:
            return
        raise ExpectedError(
            "fob %s has no password, but %s: it may have been reset (erased) by someone "
            "else, so check what it holds before you trust it. `otpfob password set` "
            "protects it again; `otpfob password forget` makes this computer accept it "
            "without one" % (serial or "?", why)
        )

    def _press_prompt(self, prompt, check=None):
        lines = [line for line in prompt.split("\n") if line]
        text = "The fob asks: %s" % " / ".join(lines)
        if check:
            text += "\n  It must show the check value %s; if it shows another, press B." % check
        text += "\n  Hold A on the fob until the bar is full to say yes (B, or any tap, is no)."
        self._stderr(text)

    def _failed_tries(self, n):
        self.warn(
            "%s on this fob since your last login: someone may be guessing"
            % plural(n, "wrong password try", "wrong password tries")
        )

    def _stderr(self, text):
        if self._activity is not None:
            self._activity.print(text)
        else:
            click.echo(text, err=True)

    def activity(self, text, total=None):
        """A transient progress line on stderr for long work (a bar when `total` is known):
        only on a terminal, never under --json; messages meanwhile go above it."""
        return Activity(self, text, total, live=not self.json and sys.stderr.isatty())

    def get_password(self, client, what="Password"):
        """The management password: --password / OTPFOB_PASSWORD, then the OS keyring
        (entries made by `otpfob password remember`), then a hidden prompt."""
        if self.password:
            return self.password
        from .. import keystore

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

    def _find_device(self):
        """The port of the plugged-in fob whose serial is --device: by the USB serial
        number where the system shows it, else by asking each fob."""
        from ..client import identify
        from ..transport import TransportError, find_data_ports, list_serial_ports, usb_serial

        want = self.device.lower()
        ports = find_data_ports(list_serial_ports())
        for p in ports:
            if usb_serial(p) == want:
                return p.device
        seen = []
        for p in ports:
            if usb_serial(p) is not None:
                seen.append(usb_serial(p))
                continue
            try:
                serial = str(identify(p.device, self.timeout).get("serial") or "")
            except (TransportError, OtpfobError):
                continue
            if serial.lower() == want:
                return p.device
            seen.append(serial or "?")
        raise ExpectedError(
            "no fob with serial %s is plugged in (%s); `otpfob devices` lists them"
            % (self.device, "found: %s" % ", ".join(seen) if seen else "found none"),
            EXIT_NO_FOB,
        )

    def _choose(self, ports):
        from ..transport import describe

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
        self._stderr("otpfob: warning: %s" % message)

    def note(self, message):
        """Human progress messages; kept off stdout under --json so it stays parseable."""
        if self.json:
            self._stderr(message)
        else:
            click.echo(message)


class Activity:
    """What State.activity returns: a rich progress line while in the `with` block."""

    def __init__(self, state, text, total, live):
        self.state = state
        self.text = text
        self.total = total
        self.live = live
        self._progress = None
        self._task = None

    def __enter__(self):
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
            )

            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None:
                columns += [BarColumn(), MofNCompleteColumn()]
            self._progress = Progress(
                *columns, console=Console(stderr=True, highlight=False), transient=True
            )
            self._progress.start()
            self._task = self._progress.add_task(self.text, total=self.total)
            self.state._activity = self
        return self

    def advance(self, n=1):
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, text):
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def print(self, text):
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self.state._activity = None
        return False


pass_state = click.make_pass_decorator(State)


def check_port(port):
    """HOST:PORT without a scheme is the commonest slip: name the URL meant."""
    import os
    import re

    if (
        port
        and re.fullmatch(r"[\w.\-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5}", port)
        and not os.path.exists(port)
    ):
        raise ExpectedError(
            "no such port: %s; did you mean socket://%s?" % (port, port), EXIT_USAGE
        )


def _set_on_state(attr):
    def callback(ctx, param, value):
        state = ctx.find_object(State)
        if value and state is not None:
            setattr(state, attr, value)
        return value

    return callback


def _global_params():
    # The global options again, after the command (`otpfob list -j`, as ykman and git
    # take them); given there they win over the ones before it. After a command --port and
    # --password have no short flag: `ykman oath accounts add -p` is the password and -P
    # the period, so neither short flag may mean something else here (docs/admin.md).
    def option(opts, attr, help, **kw):
        return click.Option(
            opts + ["_" + attr], expose_value=False, callback=_set_on_state(attr), help=help, **kw
        )

    return [
        option(
            ["-j", "--json"],
            "json",
            "Machine-readable output (also before the command).",
            is_flag=True,
        ),
        option(
            ["--port"],
            "port",
            "The fob's data channel (also before the command).",
            metavar="PORT|URL",
        ),
        option(
            ["--device"],
            "device",
            "The fob with this serial (also before the command; `otpfob devices`).",
            metavar="SERIAL",
        ),
        option(
            ["--password"],
            "password",
            "The fob's management password (also before the command).",
            metavar="PASSWORD",
        ),
    ]


def add_global_options(cmd, only=None):
    """Add --json/-j, --port and --password (or those of `only`, long names) to a
    command and its subcommands, where the command does not use the flag already."""
    used = {o for p in cmd.params for o in p.opts + p.secondary_opts}
    for param in _global_params():
        if only is not None and not set(only).intersection(param.opts):
            continue
        if not used.intersection(param.opts):
            cmd.params.append(param)
    for sub in getattr(cmd, "commands", {}).values():
        add_global_options(sub, only)


def label_of(entry):
    """ "issuer:name" of a Credential or Code (client.py), or of a reply's account dict."""
    if not isinstance(entry, dict):
        return entry.label
    issuer = entry.get("issuer") or ""
    return "%s:%s" % (issuer, entry["name"]) if issuer else entry["name"]


def resolve(accounts, query):
    """The one account (a client.Credential) QUERY names, or an ExpectedError listing the
    candidates."""
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
    for key in (label_of, lambda a: a.name, lambda a: a.issuer):
        exact = [a for a in matches if key(a).lower() == q]
        if len(exact) == 1:
            return exact[0]
    raise ExpectedError(
        "%r is ambiguous; it matches %s" % (query, ", ".join(label_of(a) for a in matches))
    )


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


def utc(epoch):
    if epoch is None:
        return "not set"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def confirm(state, question, force):
    if force:
        return
    if state.json:
        raise ExpectedError(
            "refusing without confirmation under --json; add --force (-f)", EXIT_REFUSED
        )
    if not click.confirm(question, default=False, err=True):
        raise ExpectedError("not confirmed; nothing changed", EXIT_REFUSED)


def numbered(entry):
    """An account as JSON shows it: `index` is the N of #N (1 for the first account), the
    same number `otpfob list` shows and QUERY takes."""
    if not isinstance(entry, dict):
        entry = entry.to_json()
    out = {k: v for k, v in entry.items() if k not in ("id", "ok")}
    if isinstance(out.get("index"), int):
        out["index"] += 1
    return out


def clock_text(reason):
    """How a fob's clock that gives no time is described, with what to do about it."""
    if reason == "no_answer":
        return "not answering (check the DS3231's wiring; the fob tries again by itself)"
    return "not set (%s): otpfob time set" % reason


def label_strips(state, client, pairs, existing=None):
    """The label strips ({text: bytes}) for labels (issuer, name) about to go to the fob,
    with a warning for each character the fob cannot draw as itself; None when every
    label is plain ASCII (the fob's own font draws it)."""
    from ..labels import plain, plan

    if all(plain(t) for pair in pairs for t in pair):
        return None
    from ..client import takes_strips

    if existing is None:
        existing = client.credentials()
    texts = [t for a in existing for t in (a.issuer, a.name)]
    strips, warnings = plan(pairs, texts, takes_strips(client.info()))
    for w in warnings:
        state.warn(w)
    return strips


def show_previews(state, pairs, png=None):
    """Each label (issuer, name) as the fob will draw it: in the terminal, and as a PNG
    file when `png` names one. Nothing goes to the fob."""
    from ..labels import plan, preview, preview_text
    from ..labels import png as save_png

    strips, warnings = plan(pairs)
    for w in warnings:
        state.warn(w)
    for issuer, name in pairs:
        label = "%s:%s" % (issuer, name) if issuer else name
        state.note("%s, as the fob draws it:" % label)
        click.echo("\n".join(preview_text(issuer, name, strips)))
    if png:
        save_png([preview(i, n) for i, n in pairs], png)
        state.note("Saved %s." % png)
