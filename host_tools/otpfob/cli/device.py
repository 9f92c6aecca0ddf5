"""Commands about the fob as a whole: devices, info, reset, selftest."""

import click

from .clock import clock_estimate, estimate_text
from .util import ExpectedError, OtpfobError, clock_text, confirm, pass_state, plural, utc


@click.command()
@pass_state
def devices(state):
    """List the fobs plugged in: port, serial, board and firmware.

    Each fob is asked for its hello (which needs no password and changes nothing); a port
    another program holds shows as busy. Pick one with --device SERIAL (or --port).

    Example: otpfob devices --json
    """
    from ..client import identify
    from ..transport import TransportError, find_data_ports, list_serial_ports, usb_serial

    if state.port:
        usb = {state.port: None}
    else:
        usb = {p.device: usb_serial(p) for p in find_data_ports(list_serial_ports())}
    rows = []
    for port in usb:
        row = {
            "port": port,
            "serial": usb.get(port),
            "board": None,
            "firmware": None,
            "protocol": None,
            "state": "ok",
        }
        try:
            hello = identify(port, state.timeout)
        except (TransportError, OtpfobError) as exc:
            row["state"] = "busy" if getattr(exc, "code", None) == "busy" else str(exc)
        else:
            row.update(
                serial=hello.get("serial") or row["serial"],
                board=hello.get("board"),
                firmware=hello.get("firmware"),
                protocol=hello.get("protocol"),
            )
        rows.append(row)
    if state.json:
        state.emit_json(rows)
        return
    if not rows:
        state.note("No fob is plugged in (none shows the otpfob data channel).")
        return
    from rich.table import Table

    table = Table()
    for title in ("Port", "Serial", "Board", "Firmware", "State"):
        table.add_column(title)
    for r in rows:
        firmware = "%s (protocol %s)" % (r["firmware"], r["protocol"]) if r["firmware"] else ""
        table.add_row(r["port"], r["serial"] or "?", r["board"] or "", firmware, r["state"])
    state.console().print(table)


@click.command()
@pass_state
def info(state):
    """Show the fob's identity, capacity and clock.

    Example: otpfob info --json
    """
    client = state.client()
    reply = client.info()
    if reply.get("password") and "accounts" not in reply:
        # A protected fob tells a host that has not logged in only what a login needs:
        # log in when a password is at hand (flag, environment, keyring, a prompt).
        password = state.get_password(client)
        if password is not None:
            client.login(password)
            reply = client.info()
    data = {k: v for k, v in reply.items() if k not in ("id", "ok")}
    hidden = "accounts" not in data
    est = clock_estimate(state, data.get("serial"), data.get("aging"))
    if state.json:
        data["clock_estimate"] = (
            None
            if est is None
            else {
                k: (None if v is None else round(v, 4 if k != "ppm" else 3)) for k, v in est.items()
            }
        )
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
    ]
    if hidden:
        rows.append(("Password", "set; the rest is shown after a login (--password)"))
        for key, value in rows:
            table.add_row(key, "" if value is None else str(value))
        state.console().print(table)
        return
    rows += [
        ("Accounts", "%s of %s" % (data.get("accounts"), data.get("capacity"))),
        ("Flash", "%s bytes used, %s free" % (data.get("bytes_used"), data.get("bytes_free"))),
        (
            "Time",
            utc(data.get("time"))
            if data.get("time") is not None
            else clock_text(data.get("clock")),
        ),
        ("Clock error", estimate_text(est) if data.get("time") is not None else "-"),
        ("Aging offset", data.get("aging")),
        (
            "Password",
            (
                "set, %s left before logins stop until you allow more on the fob"
                % plural(data.get("tries_left") or 0, "try", "tries")
            )
            if data.get("password")
            else "none",
        ),
        (
            "Codes over USB",
            "without a press (turned on by the holder)"
            if data.get("usb_codes")
            else "only with a press on the fob",
        ),
        (
            "Press to add",
            "no (turned off by the admin)" if data.get("add_presence") is False else "yes",
        ),
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


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def reset(state, force):
    """Erase every account on the fob (and its password; a press on the fob confirms).

    Example: otpfob reset --force
    """
    state.unprotected_ok = True
    client = state.client()
    # info, not list: a fob whose password is forgotten can still be reset (on the fob);
    # it then tells a host that has not logged in nothing of what it holds.
    info = client.info()
    count = info.get("accounts")
    what = (
        "every account"
        if count is None
        else "all " + plural(count, "account")
        if count != 1
        else "1 account"
    )
    confirm(state, "Erase %s and the password on the fob? This cannot be undone." % what, force)
    reply = client.reset()
    from ..known import KnownFobs

    KnownFobs().record(info.get("serial"), False)
    if state.json:
        state.emit_json({"erased": count, "accounts": reply.get("accounts", 0)})
    else:
        state.note("Erased %s." % (what if count is None else plural(count, "account")))


@click.command()
@pass_state
def selftest(state):
    """Run the RFC 4226 / 6238 test vectors on the fob's OTP engine.

    Example: otpfob selftest
    """
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
        state.note("%s, %s." % (plural(len(checks), "check"), "all passed" if passed else "FAILED"))
    if not passed:
        raise ExpectedError("the fob's self-test failed")
