# The fob's own preferences (fob/settings.py), read and changed by a host: settings_get,
# settings_set and the prompt for a setting that weakens a check. Loaded by fob/policy.py
# at the first such request.
from fob.args import bad as _bad
from fob.args import get_bool as _get_bool
from fob.args import get_int as _get_int
from fob.args import get_str as _get_str
from fob.vault import VaultError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_SETTING_KEYS = ("privacy", "idle_timeout", "typing", "layout")
# Settings changes that need no press each write the flash: a host may make this many
# per power-up, not a stream of them that wears a flash sector out (about 100,000 erases).
_QUIET_WRITES = const(64)
# The keyboard layouts fob/hidtype.py types in (kept here, not in the resident settings).
_LAYOUTS = ("us", "de", "fr")


def _settings(p):
    # The UI's own Settings object, so a change shows at once; a fob without a UI reads
    # (and writes) the same file itself.
    s = getattr(p, "settings", None) or getattr(getattr(p, "presence", None), "settings",
                                                 None)
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
           "saved": s.saved}
    g = getattr(p, "guard", None)
    if g is not None:
        out["add_presence"] = g.add_presence
    return out


def settings_set(p, req):
    from fob.settings import IDLE_MAX, IDLE_MIN

    s = _settings(p)
    # Every value is checked before any is applied: a bad one changes nothing.
    new = {}
    for key in ("privacy", "typing"):
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
    if "add_presence" in req:
        quiet = not _get_bool(req, "add_presence")
        if quiet and not p.authed:
            raise VaultError("auth_required", "add_presence can be turned off only by an "
                             "admin logged in with the fob's password")
    if not new and quiet is None:
        raise _bad("give at least one of " + ", ".join(_SETTING_KEYS))

    def done():
        for key in new:
            setattr(s, key, new[key])
        if new:
            s.save()
        if quiet is not None:
            p.guard.set_add_presence(not quiet)
        out = settings_get(p, req)
        out["changed"] = list(new) + (["add_presence"] if quiet is not None else [])
        return out

    return (new, quiet), done


def settings_prompt(p, what):
    """A press for what weakens a check: privacy off (codes shown without a select),
    typing on (the fob becomes a USB keyboard at the next plug-in), adds without a press;
    None for the rest (stricter, or only how the fob looks)."""
    new, quiet = what
    s = _settings(p)
    weaker = []
    if new.get("privacy") is False and s.privacy:
        weaker.append("privacy off")
    if new.get("typing") is True and not s.typing:
        weaker.append("typing on")
    if quiet and p.guard.add_presence:
        weaker.append("adds without press")
    if weaker:
        return "Set " + ", ".join(weaker) + "?"
    if p.quiet_writes >= _QUIET_WRITES:
        raise VaultError("busy", "%d settings changes since the fob was plugged in; unplug "
                         "it and plug it in again for more" % _QUIET_WRITES)
    p.quiet_writes += 1
    return None
