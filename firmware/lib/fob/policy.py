# Who may do what: every command the fob answers, in one table, and the questions put to
# the person holding the fob. Loaded by fob/protocol.py at the first request and kept.
#
# A row is (command, handler module, rule, prompt). The handler is fob/<module>.py's
# function of the command's name (commands.py: with "c_" before it). It checks the
# request and changes nothing itself; it returns
#   - a dict: the reply (nothing changes);
#   - (LONG, head, key, items, per poll, tail): a long reply, written over several passes;
#   - (ACT, what, done, needs): something to do (the tags and needs are fob/wire.py's), which done(pressed) does and answers;
#     `needs` says what this very request needs beyond the row's rule (NEED_PRESS: it
#     weakens a check, NEED_LOGIN: only a logged-in host may ask it).
# The rule:
#   LOGIN  while a password is set, only a request of the logged-in host is answered;
#   PRESS  every ACT waits for a press on the fob;
#   ASKS   an ACT waits for a press when its needs say NEED_PRESS;
#   QUIET  an ACT done without a press writes the flash: at most QUIET_WRITES of them
#          per power-up, so no host can wear the flash out with a stream of them.
# The prompt is shown as it is, or names the handler module's function f(p, what) that
# words it. Prompt functions only word: they decide and change nothing. A prompt is one
# or more lines joined with "\n": a title ending in "?", then the fields the holder must
# see (an entry that exists is named by its number: #1 is index 0).
#
# The questions themselves, who may put one while another waits, and the cooldown after
# unanswered ones, are fob/ask.py's.
from micropython import const

from fob.vault import VaultError
from fob.wire import ACT, NEED_LOGIN, NEED_PRESS

LOGIN = const(1)
PRESS = const(2)
ASKS = const(4)
QUIET = const(8)

TABLE = (
    # Open to any host: what the fob is, the login, and reset (it erases the password
    # with the accounts, so it gives nothing away; it needs a press). A locked login
    # (too many wrong passwords) asks the holder before it hands out a challenge.
    ("hello", "commands", 0, None),
    ("info", "commands", 0, None),
    ("auth_begin", "access", ASKS, "unlock_prompt"),
    ("auth", "access", 0, None),
    ("logout", "access", 0, None),
    ("reset", "provision", PRESS, "Erase all accounts and the password?"),
    # Reading. Codes go to a host only with the holder's press, unless the holder turned
    # usb_codes on (with a press).
    ("time_get", "commands", LOGIN, None),
    ("list", "commands", LOGIN, None),
    ("code", "commands", LOGIN | ASKS, "code_prompt"),
    ("selftest", "commands", LOGIN, None),
    ("aging_get", "clockset", LOGIN, None),
    ("settings_get", "prefs", LOGIN, None),
    # Changes. add asks unless adds need no press (add_presence off, only with a
    # password) and never when it replaces an account; add_many's staged parts change
    # nothing, its last part is the commit; time_set asks beyond the clock window, with
    # force, or while the clock is not set (fob/clockset.py); a setting asks when it
    # weakens a check, and turning add_presence off needs a login as well (fob/prefs.py).
    ("add", "provision", LOGIN | ASKS, "add_prompt"),
    ("add_many", "provision", LOGIN | ASKS, "add_many_prompt"),
    ("abort", "provision", LOGIN, None),
    ("delete", "provision", LOGIN | PRESS, "delete_prompt"),
    ("rename", "provision", LOGIN | PRESS, "rename_prompt"),
    ("move", "provision", LOGIN | PRESS, "move_prompt"),
    ("time_set", "clockset", LOGIN | ASKS, "time_prompt"),
    ("aging_set", "clockset", LOGIN | PRESS, "aging_prompt"),
    ("settings_set", "prefs", LOGIN | ASKS | QUIET, "settings_prompt"),
    ("password_set", "access", LOGIN | PRESS, "password_prompt"),
    ("password_clear", "access", LOGIN | PRESS, "Clear password?"),
    # A fresh fob's clock, first password and first accounts under one question; refused
    # (not_fresh) once the fob has a password or an account (fob/fresh.py).
    ("setup", "fresh", PRESS, "setup_prompt"),
)

# Changes without a press that write the flash (QUIET rows), per power-up.
QUIET_WRITES = const(64)


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
    elif name == "fresh":
        from fob import fresh as mod
    else:
        from fob import access as mod
    return mod


def _auth_required():
    return VaultError("auth_required", "this fob is protected by a password: log in first")


def dispatch(p, rid, cmd, req):
    """Runs cmd under the table's rule and answers it: now, over several passes, or once
    the holder has answered the question it puts."""
    row = find(cmd)
    if row is None:
        raise VaultError("unknown_command", "unknown command; hello lists them")
    g = p.guard
    g.see_time(p.now())
    rule = row[2]
    if rule & LOGIN and g.has_password and not p.authed:
        raise _auth_required()
    mod = _module(row[1])
    result = getattr(mod, ("c_" + cmd) if row[1] == "commands" else cmd)(p, req)
    if not isinstance(result, tuple) or result[0] != ACT:
        p.reply(rid, result)
        return
    what, done, needs = result[1], result[2], result[3]
    if needs & NEED_LOGIN and not p.authed:
        raise VaultError("auth_required", "only a host logged in with the fob's password "
                         "may make this change")
    if rule & PRESS or (rule & ASKS and needs & NEED_PRESS):
        prompt = row[3]
        if not prompt.endswith("?"):
            prompt = getattr(mod, prompt)(p, what)
        from fob import ask

        ask.start(p, rid, prompt, done)
        return
    if rule & QUIET:
        if p.quiet_writes >= QUIET_WRITES:
            raise VaultError("busy", "%d changes without a press since the fob was plugged "
                             "in; unplug it and plug it in again for more" % QUIET_WRITES)
        p.quiet_writes += 1
    p.run(rid, done, (False,))


def poll(p, linked):
    """Once a pass while logged in or while a question waits."""
    if p.session is not None:
        from fob import access

        access.expire(p, linked)
    if p.question is not None:
        from fob import ask

        ask.poll(p, linked)
