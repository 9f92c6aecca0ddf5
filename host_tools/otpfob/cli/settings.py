"""The settings group: show or change the fob's settings."""

import click

from .util import ExpectedError, pass_state

SETTING_KINDS = {
    "privacy": "bool",
    "idle_timeout": "int",
    "typing": "bool",
    "layout": "str",
    "add_presence": "bool",
    "usb_codes": "bool",
}
_BOOL_WORDS = {
    "on": True,
    "off": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}
_SETTINGS_SHOWN = (
    "typing",
    "layout",
    "privacy",
    "idle_timeout",
    "add_presence",
    "usb_codes",
    "keyboard",
)


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
            raise ExpectedError(
                "%s must be a whole number of seconds, not %r" % (name, value)
            ) from None
    return name, text.lower()


def _settings_call(fn, **kw):
    from ..client import FobError

    try:
        return fn(**kw)
    except FobError as exc:
        if exc.code == "unknown_command":
            raise ExpectedError(
                "this fob's firmware has no settings commands; update it with `otpfob deploy`"
            ) from None
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
            text = {True: "enabled now", False: "not enabled now", None: "not available"}.get(
                value, str(value)
            )
        else:
            text = words.get(value, str(value))
        table.add_row(key, text)
    state.console().print(table)


def _keyboard_hint(data):
    """What to do when the USB keyboard is not (or still) there as typing asks."""
    if data.get("typing") and data.get("keyboard") is False:
        return "unplug the fob and plug it in again: its USB keyboard is switched on at plug-in"
    if not data.get("typing") and data.get("keyboard"):
        return "the USB keyboard stays until the fob is unplugged and plugged in again"
    return None


@click.group(name="settings", invoke_without_command=True)
@click.pass_context
def settings_group(ctx):
    """Show or change the fob's settings (typing, layout, privacy, idle_timeout).

    `otpfob settings` alone shows them.

    Example: otpfob settings set privacy on
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(settings_show)


@settings_group.command(name="show")
@pass_state
def settings_show(state):
    """Show the fob's settings.

    Example: otpfob settings show --json
    """
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

    \b
    Example:
      otpfob settings set typing on layout de
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
        raise ExpectedError(
            "this fob's firmware has no setting %s; update it with "
            "`otpfob deploy`" % ", ".join(missing)
        )
    if data.get("saved") is False:
        state.warn(
            "the fob could not write its settings file (is its drive writable by "
            "the computer?); the new settings hold until it restarts"
        )
    hint = _keyboard_hint(data) if "typing" in wanted else None
    if hint:
        state.warn(hint)
    if not state.json:
        state.note(
            "Changed %s."
            % ", ".join(
                "%s to %s" % (k, ("on" if v else "off") if isinstance(v, bool) else v)
                for k, v in wanted.items()
            )
        )
    _show_settings(state, data)
