"""Helpers every command module shares: the error type, the per-invocation state and the
connection it opens, and how accounts are named, matched and shown."""

import json
import sys
import time

import click

from ..codecheck import group_code  # noqa: F401 - shown by several commands


class ExpectedError(click.ClickException):
    """An error the user can act on: one line on stderr, exit status 1, no traceback."""

    def show(self, file=None):
        click.echo("otpfob: error: %s" % self.format_message(), err=True)


def expected_error_types():
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
            from ..client import FobClient
            from ..transport import connect

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
        click.echo("otpfob: warning: %s" % message, err=True)

    def note(self, message):
        """Human progress messages; kept off stdout under --json so it stays parseable."""
        click.echo(message, err=self.json)


pass_state = click.make_pass_decorator(State)


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



def utc(epoch):
    if epoch is None:
        return "not set"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def confirm(state, question, force):
    if force:
        return
    if state.json:
        raise ExpectedError("refusing without confirmation under --json; add --force")
    if not click.confirm(question, default=False, err=True):
        raise ExpectedError("not confirmed; nothing changed")
