"""The password group: set, change, clear, remember and forget the management password."""

import os
import sys

import click

from .util import ExpectedError, pass_state


@click.group(name="password")
def password_group():
    """Protect the fob with a management password (set, change, clear, remember).

    Example: otpfob password set
    """


def _new_password(state):
    pw = os.environ.get("OTPFOB_NEW_PASSWORD")
    if pw:
        return pw
    if state.json or not sys.stdin.isatty():
        raise ExpectedError("no new password: set OTPFOB_NEW_PASSWORD or run in a terminal")
    return click.prompt("New password", hide_input=True, confirmation_prompt="Repeat it", err=True)


ITERATIONS_HELP = "PBKDF2-HMAC-SHA256 iterations on this computer for each login (at least 10000)."


# auth.ITERATIONS, written out so that loading the CLI does not import hashlib (a test
# keeps the two equal).
DEFAULT_ITERATIONS = 600_000


def _iterations_option(f):
    return click.option(
        "--iterations",
        type=click.IntRange(10000, 100000000),
        default=DEFAULT_ITERATIONS,
        show_default=True,
        help=ITERATIONS_HELP,
    )(f)


def _password_done(state, text, reply):
    if state.json:
        state.emit_json({k: v for k, v in reply.items() if k not in ("id", "ok")})
    else:
        state.note(text)


@password_group.command(name="set")
@_iterations_option
@pass_state
def password_set(state, iterations):
    """Give a fob without a password its first one (press the fob's button to confirm).

    Example: OTPFOB_NEW_PASSWORD=... otpfob password set
    """
    state.unprotected_ok = True
    client = state.client()
    if client.info().get("password"):
        raise ExpectedError("this fob already has a password; use `otpfob password change`")
    new = _new_password(state)
    reply = client.password_set(new, iterations=iterations)
    _record(client, True)
    _password_done(
        state,
        "Password set: from now on the fob answers only info until "
        "it is given (8 wrong tries in a row stop the logins until you allow "
        "more on the fob).",
        reply,
    )


@password_group.command(name="change")
@_iterations_option
@pass_state
def password_change(state, iterations):
    """Change the password (log in with the current one, then press the fob's button).

    Example: otpfob password change
    """
    client = state.client()
    if not client.info().get("password"):
        raise ExpectedError("this fob has no password yet; use `otpfob password set`")
    client.login(_current_password(state, client))
    new = _new_password(state)
    reply = client.password_set(new, iterations=iterations)
    from .. import keystore

    serial = client.info().get("serial")
    if keystore.get(serial) is not None:
        keystore.put(serial, new)
    _password_done(state, "Password changed.", reply)


@password_group.command(name="clear")
@pass_state
def password_clear(state):
    """Remove the password (log in, then press the fob's button).

    Example: otpfob --password "$OLD" password clear
    """
    client = state.client()
    if not client.info().get("password"):
        raise ExpectedError("this fob has no password; `otpfob password set` gives it one")
    client.login(_current_password(state, client))
    reply = client.password_clear()
    _record(client, False)
    _password_done(state, "Password removed: the fob is open to any host again.", reply)


@password_group.command(name="remember")
@pass_state
def password_remember(state):
    """Keep the password in this computer's keyring for this fob (checked first).

    Example: otpfob password remember
    """
    from .. import keystore

    client = state.client()
    password = _current_password(state, client)
    client.login(password)
    serial = client.info().get("serial")
    keystore.put(serial, password)
    state.note("Password for fob %s kept in the OS keyring." % serial)


@password_group.command(name="forget")
@pass_state
def password_forget(state):
    """Forget this fob's password: remove it from this computer's keyring, and accept the
    fob without one from now on (after it was reset, or its password removed elsewhere).

    Example: otpfob password forget
    """
    from .. import keystore

    state.unprotected_ok = True
    client = state.client()
    info = client.info()
    serial = info.get("serial")
    gone = keystore.forget(serial)
    if not info.get("password"):
        _record(client, False)
    state.note("Forgotten." if gone else "Nothing was kept for fob %s." % serial)


def _record(client, password):
    from ..known import KnownFobs

    KnownFobs().record(client.info().get("serial"), password)


def _current_password(state, client):
    password = state.get_password(client, "Current password")
    if password is None:
        raise ExpectedError(
            "this fob is protected by a password: give --password, set "
            "OTPFOB_PASSWORD, or run interactively"
        )
    return password
