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
# The questions (start_ask, poll_ask): one at a time. The answer is the UI's (fob/ui.py:
# a yes is a hold, never a tap). While a question waits, other requests are still read:
# those that change nothing are answered, one that would ask is refused with `busy`,
# except that a request of the logged-in host takes the screen from a question asked by
# a host that has not logged in. After a question of a host that has not logged in ends
# without a yes (no, no answer, the host gone), such hosts' questions are refused for a
# while (`cooldown`), longer each time, so no program can keep the codes off the screen.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

from fob.vault import VaultError
from fob.wire import ACT, NEED_LOGIN, NEED_PRESS, monotonic

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
)

# Changes without a press that write the flash (QUIET rows), per power-up.
QUIET_WRITES = const(64)
# A question stands this long (seconds) before it counts as a no.
PRESENCE_SECONDS = const(30)
# After a question of a host that has not logged in ends without a yes, such questions
# are refused this long (seconds), doubled for each further one up to COOLDOWN_MAX; a yes
# starts again from COOLDOWN.
COOLDOWN = const(30)
COOLDOWN_MAX = const(480)


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
        start_ask(p, rid, prompt, done)
        return
    if rule & QUIET:
        if p.quiet_writes >= QUIET_WRITES:
            raise VaultError("busy", "%d changes without a press since the fob was plugged "
                             "in; unplug it and plug it in again for more" % QUIET_WRITES)
        p.quiet_writes += 1
    p.run(rid, done, (False,))


# -- questions to the holder ------------------------------------------------------------

# The question waiting for an answer (Protocol.question), a list:
_Q_ID = const(0)         # the request's id
_Q_DONE = const(1)       # done(pressed), run on a yes
_Q_UNTIL = const(2)      # monotonic() deadline
_Q_LINKED = const(3)     # the port said "connected" when it was asked
_Q_AUTHED = const(4)     # asked by the logged-in host
# A prompt's check value line (fob/check.py), always its last.
_CHECK = "\nCheck: "
# The cooldown (Protocol.cooldown), a list:
_C_UNTIL = const(0)      # monotonic() until which questions of hosts not logged in are refused
_C_NEXT = const(1)       # the length of the next cooldown (seconds; 0: COOLDOWN)


def start_ask(p, rid, prompt, done):
    pr = p.presence
    if pr is None:
        raise VaultError("no_presence", "this fob has no button to confirm with")
    q = p.question
    if q is not None:
        if not p.authed or q[_Q_AUTHED]:
            raise VaultError("busy", "the fob is waiting for its holder to answer another "
                             "request; nothing was changed")
        # The logged-in host takes the screen from a host that has not logged in.
        end_ask(p, False)
        p.error(q[_Q_ID], "busy", "another request took the fob's screen; nothing was "
                "changed")
    now = monotonic()
    cool = p.cooldown
    if not p.authed and now < cool[_C_UNTIL]:
        raise VaultError("cooldown", "the holder did not agree to a request a moment ago; "
                         "the fob takes no new question from a program that has not logged "
                         "in for %d s" % (cool[_C_UNTIL] - now + 1))
    p.question = [rid, done, now + PRESENCE_SECONDS, p.linked(), p.authed]
    pr.ask(prompt)
    out = {"pending": "presence", "prompt": prompt, "timeout": PRESENCE_SECONDS}
    k = prompt.find(_CHECK)
    if k >= 0:
        # The check value is drawn on the fob, never sent: the host that asked works it
        # out from what it sent (fob/check.py), a program that did not cannot.
        out["prompt"] = prompt[:k]
        out["check"] = True
    p.reply(rid, out, True)


def poll_ask(p, linked):
    """Once a pass while a question waits: runs, refuses or drops it once answered."""
    q = p.question
    # A host that never said "connected" (no DTR) is not taken to have left.
    linked = linked or not q[_Q_LINKED]
    answer = p.presence.answer
    if answer is None and linked and monotonic() < q[_Q_UNTIL]:
        return
    end_ask(p, answer)
    rid = q[_Q_ID]
    if answer:
        p.run(rid, q[_Q_DONE], (True,))
    elif answer is None and not linked:
        return  # nobody is there to read the reply
    elif answer is None:
        p.error(rid, "presence_timeout", "nobody answered on the fob within %d s; nothing "
                "was changed" % PRESENCE_SECONDS)
    else:
        p.error(rid, "refused", "refused on the fob; nothing was changed")


def end_ask(p, answer):
    """Takes the question off the screen; one of a host not logged in that ends without
    a yes starts (or lengthens) the cooldown."""
    q = p.question
    if q is None:
        return
    p.question = None
    try:
        p.presence.cancel()
    except Exception:
        pass
    cool = p.cooldown
    if answer:
        cool[_C_NEXT] = 0
    elif not q[_Q_AUTHED]:
        n = cool[_C_NEXT] or COOLDOWN
        cool[_C_UNTIL] = monotonic() + n
        cool[_C_NEXT] = min(n * 2, COOLDOWN_MAX)


def poll(p, linked):
    """Once a pass while logged in or while a question waits."""
    if p.session is not None:
        from fob import access

        access.expire(p, linked)
    if p.question is not None:
        poll_ask(p, linked)
