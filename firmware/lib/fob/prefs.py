# The fob's own preferences (fob/settings.py), read and changed by a host: settings_get,
# settings_set and the prompt for a setting that weakens a check. Loaded by fob/policy.py
# at the first such request.
from fob.args import bad as _bad
from fob.args import get_bool as _get_bool
from fob.args import get_int as _get_int
from fob.args import get_str as _get_str
from fob.wire import ACT, NEED_LOGIN, NEED_PRESS

_SETTING_KEYS = ("privacy", "idle_timeout", "typing", "layout", "usb_codes")
# The keyboard layouts fob/hidtype.py types in (kept here, not in the resident settings).
_LAYOUTS = ("us", "de", "fr")


def _settings(p):
    # The UI's own Settings object, so a change shows at once; a fob without a UI reads
    # (and writes) the same file itself.
    s = p.settings
    if s is None:
        from fob.settings import Settings

        s = p.settings = Settings(getattr(p.vault, "root", "/"))
    return s


def _keyboard_enabled():
    # Whether the USB keyboard interface is up now (boot.py enables it at plug-in only
    # when typing is on); None where there is no usb_hid at all.
    try:
        import usb_hid
    except ImportError:
        return None
    for dev in usb_hid.devices:
        if dev.usage_page == 0x01 and dev.usage == 0x06:
            return True
    return False


def settings_get(p, req):
    s = _settings(p)
    out = {"privacy": s.privacy, "idle_timeout": s.idle_timeout, "typing": s.typing,
           "layout": s.layout, "layouts": list(_LAYOUTS), "keyboard": _keyboard_enabled(),
           "usb_codes": s.usb_codes, "saved": s.saved}
    g = getattr(p, "guard", None)
    if g is not None:
        out["add_presence"] = g.add_presence
    return out


def settings_set(p, req):
    from fob.settings import IDLE_MAX, IDLE_MIN

    s = _settings(p)
    # Every value is checked before any is applied: a bad one changes nothing.
    new = {}
    for key in ("privacy", "typing", "usb_codes"):
        if key in req:
            new[key] = _get_bool(req, key)
    if "idle_timeout" in req:
        new["idle_timeout"] = _get_int(req, "idle_timeout", None, IDLE_MIN, IDLE_MAX)
    if "layout" in req:
        layout = _get_str(req, "layout")
        if layout not in _LAYOUTS:
            raise _bad("layout must be one of " + ", ".join(_LAYOUTS))
        new["layout"] = layout
    quiet = None
    needs = 0
    if "add_presence" in req:
        quiet = not _get_bool(req, "add_presence")
        if quiet:
            # Adds without a press: only an admin logged in with the fob's password.
            needs = NEED_LOGIN
    if not new and quiet is None:
        raise _bad("give at least one of " + ", ".join(_SETTING_KEYS))
    # A press for what weakens a check: privacy off (codes shown without a select),
    # typing on (the fob becomes a USB keyboard at the next plug-in), codes to a host
    # without a press, adds without a press. The rest is stricter, or only how it looks.
    if weaker(new, quiet, s, p.guard):
        needs |= NEED_PRESS

    def done(pressed):
        for key in new:
            setattr(s, key, new[key])
        if new:
            s.save()
        if quiet is not None:
            p.guard.set_add_presence(not quiet)
        out = settings_get(p, req)
        out["changed"] = list(new) + (["add_presence"] if quiet is not None else [])
        return out

    return ACT, (new, quiet), done, needs


def weaker(new, quiet, s, g):
    """What of a change weakens a check, in words (empty when nothing does)."""
    out = []
    if new.get("privacy") is False and s.privacy:
        out.append("privacy off")
    if new.get("typing") is True and not s.typing:
        out.append("typing on")
    if new.get("usb_codes") is True and not s.usb_codes:
        out.append("codes to computers without a press")
    if quiet and g.add_presence:
        out.append("adds without press")
    return out


def settings_prompt(p, what):
    new, quiet = what
    return "Set " + ", ".join(weaker(new, quiet, _settings(p), p.guard)) + "?"
