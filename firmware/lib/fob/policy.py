# Who may do what: every command the fob answers, in one table. Loaded by fob/protocol.py
# at the first request and kept (a few hundred bytes: tuples of short strings and ints).
#
# A row is (command, handler module, rule, prompt):
# - the handler is fob/<module>.py; its function of the command's name (commands.py: with
#   "c_" before it) checks the request and changes nothing itself: it returns a reply, or
#   for a change a pair (what, done) where done() makes the change and gives the reply;
# - LOGIN: while a password is set, only a request of a logged-in host is answered;
# - PRESS: every change waits for a press on the fob that begins after its prompt is
#   drawn; B, or no press within the time, changes nothing;
# - ASKS: a press when the prompt function says the change needs one (it returns None
#   for a change that weakens nothing: a clock move within the window, a setting made
#   stricter, an add while adds need no press);
# - the prompt: shown as is when it ends in "?", else the name of the handler module's
#   function f(p, what) that words the exact effect. It is called when the change is
#   committed (the last part of a staged batch), against the vault as it is then; nothing
#   else is read from the host while the fob waits, so what was asked is what is done.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

LOGIN = const(1)
PRESS = const(2)
ASKS = const(4)

TABLE = (
    # Open to any host: what the fob is, the login, and reset (it erases the password
    # with the accounts, so it gives nothing away; it needs a press).
    ("hello", "commands", 0, None),
    ("info", "commands", 0, None),
    ("auth_begin", "access", 0, None),
    ("auth", "access", 0, None),
    ("logout", "access", 0, None),
    ("reset", "provision", PRESS, "Erase all accounts and the password?"),
    # Reading.
    ("time_get", "commands", LOGIN, None),
    ("list", "commands", LOGIN, None),
    ("code", "commands", LOGIN, None),
    ("selftest", "commands", LOGIN, None),
    ("aging_get", "clockset", LOGIN, None),
    ("settings_get", "prefs", LOGIN, None),
    # Changes. add needs no press only under the add-presence-off policy, and never when
    # it replaces an account; add_many's staged parts change nothing, its last part is
    # the commit; time_set asks beyond the clock window (fob/clockset.py, CLOCK_WINDOW).
    ("add", "provision", LOGIN | ASKS, "add_prompt"),
    ("add_many", "provision", LOGIN | ASKS, "add_many_prompt"),
    ("abort", "provision", LOGIN, None),
    ("delete", "provision", LOGIN | PRESS, "delete_prompt"),
    ("rename", "provision", LOGIN | PRESS, "rename_prompt"),
    ("move", "provision", LOGIN | PRESS, "move_prompt"),
    ("time_set", "clockset", LOGIN | ASKS, "time_prompt"),
    ("aging_set", "clockset", LOGIN | PRESS, "aging_prompt"),
    ("settings_set", "prefs", LOGIN | ASKS, "settings_prompt"),
    ("password_set", "access", LOGIN | PRESS, "password_prompt"),
    ("password_clear", "access", LOGIN | PRESS, "Clear password?"),
)

# A login ends after this long without an authenticated request (seconds; fob/access.py's
# check_mac keeps the time), or when the port's link state changes.
_SESSION_IDLE = const(300)


def names():
    """Every command, in table order (hello's capabilities)."""
    return [row[0] for row in TABLE]


def find(cmd):
    for row in TABLE:
        if row[0] == cmd:
            return row
    return None


def _module(name):
    if name == "commands":
        from fob import commands as mod
    elif name == "provision":
        from fob import provision as mod
    elif name == "clockset":
        from fob import clockset as mod
    elif name == "prefs":
        from fob import prefs as mod
    else:
        from fob import access as mod
    return mod


def dispatch(p, cmd, req):
    """Runs cmd under the table's rule: a reply, a long reply, or (prompt, done) for a
    press (fob/protocol.py asks the holder and runs done() on yes)."""
    from fob.vault import VaultError

    row = find(cmd)
    if row is None:
        raise VaultError("unknown_command", "unknown command; hello lists them")
    g = p.guard
    g.see_time(p.now())
    rule = row[2]
    if rule & LOGIN and g.has_password and not p.authed:
        raise VaultError("auth_required", "this fob is protected by a password: log in "
                         "first")
    mod = _module(row[1])
    result = getattr(mod, ("c_" + cmd) if row[1] == "commands" else cmd)(p, req)
    if not rule & (PRESS | ASKS) or not isinstance(result, tuple) or len(result) != 2:
        # A reply: nothing was changed (a read, a staged part, an abort).
        return result
    what, done = result
    prompt = row[3]
    if not prompt.endswith("?"):
        prompt = getattr(mod, prompt)(p, what)
    if prompt is None:
        if rule & PRESS:
            # Fail closed: a change this table says needs a press never goes without one.
            raise VaultError("internal", "no prompt for " + cmd)
        return done()
    return prompt, done


# -- presence: a request that needs a press ------------------------------------------------
# dispatch hands fob/protocol.py a change's prompt and function; the function runs only once the
# person holding the fob says yes with a press that began after the prompt was drawn (the
# UI, fob/ui.py, tells a fresh press from one held over).

PRESENCE_SECONDS = const(30)


def start_ask(p, rid, prompt, fn):
    import json

    pr = p.presence
    if pr is None:
        p.error(rid, "no_presence", "this fob has no button to confirm with")
        return
    p.question = [rid, fn, _clock() + PRESENCE_SECONDS,
                  bool(getattr(p.port, "connected", False))]
    pr.ask(prompt)
    p.write(json.dumps({"id": rid, "pending": "presence", "prompt": prompt,
                        "timeout": PRESENCE_SECONDS}) + "\n")


def poll_ask(p, linked):
    # Nothing else is read while the fob waits: the host waits for this reply anyway, and
    # nothing can change what the prompt says before the answer.
    rid, fn, deadline, was_linked = p.question
    # A host that never said "connected" (no DTR) is not taken to have left.
    linked = linked or not was_linked
    answer = p.presence.answer
    if answer is None and linked and _clock() < deadline:
        return
    end_ask(p)
    if answer:
        p.run(rid, fn, ())
    elif answer is None and not linked:
        return  # nobody is there to read the reply
    elif answer is None:
        p.error(rid, "presence_timeout", "nobody pressed the button on the fob within %d s;"
                " nothing was changed" % PRESENCE_SECONDS)
    else:
        p.error(rid, "refused", "refused on the fob; nothing was changed")


def end_ask(p):
    if p.question is not None:
        p.question = None
        try:
            p.presence.cancel()
        except Exception:
            pass


def poll(p, linked):
    """Once a pass while logged in or waiting for a press; True: read nothing new now."""
    se = p.session
    if se is not None and (_clock() - se[0] > _SESSION_IDLE or se[1] != bool(linked)):
        p.logout()
    if p.question is not None:
        poll_ask(p, linked)
        return True
    return False


def _clock():
    from fob.protocol import monotonic

    return monotonic()
