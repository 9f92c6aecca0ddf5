# The questions put to the person holding the fob, one at a time. Loaded by fob/policy.py
# at the first question. The answer is the UI's (fob/ui.py, fob/question.py: a yes is a
# hold, never a tap).
#
# While a question waits the fob keeps reading: requests that change nothing are
# answered, one that would ask is refused with `busy`, except that a request of the
# logged-in host takes the screen from a question asked by a host that has not logged in.
# After a question of a host that has not logged in ends without a yes (a no, no answer,
# the host gone), such hosts' questions are refused for a while (`cooldown`), longer each
# time, so no program can keep the codes off the screen or the holder busy.
from micropython import const

from fob.vault import VaultError
from fob.wire import monotonic

# A question stands this long (seconds) before it counts as a no.
SECONDS = const(30)
# After a question of a host that has not logged in ends without a yes, such questions
# are refused this long (seconds), doubled for each further one up to COOLDOWN_MAX; a yes
# starts again from COOLDOWN.
COOLDOWN = const(30)
COOLDOWN_MAX = const(480)


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


def start(p, rid, prompt, done):
    pr = p.presence
    if pr is None:
        raise VaultError("no_presence", "this fob has no button to confirm with")
    q = p.question
    if q is not None:
        if not p.authed or q[_Q_AUTHED]:
            raise VaultError("busy", "the fob is waiting for its holder to answer another "
                             "request; nothing was changed")
        # The logged-in host takes the screen from a host that has not logged in.
        end(p, False)
        p.error(q[_Q_ID], "busy", "another request took the fob's screen; nothing was "
                "changed")
    now = monotonic()
    cool = p.cooldown
    if not p.authed and now < cool[_C_UNTIL]:
        raise VaultError("cooldown", "the holder did not agree to a request a moment ago; "
                         "the fob takes no new question from a program that has not logged "
                         "in for %d s" % (cool[_C_UNTIL] - now + 1))
    p.question = [rid, done, now + SECONDS, p.linked(), p.authed]
    pr.ask(prompt)
    out = {"pending": "presence", "prompt": prompt, "timeout": SECONDS}
    k = prompt.find(_CHECK)
    if k >= 0:
        # The check value is drawn on the fob, never sent: the host that asked works it
        # out from what it sent (fob/check.py), a program that did not cannot.
        out["prompt"] = prompt[:k]
        out["check"] = True
    p.reply(rid, out, True)


def poll(p, linked):
    """Once a pass while a question waits: runs, refuses or drops it once answered."""
    q = p.question
    # A host that never said "connected" (no DTR) is not taken to have left.
    linked = linked or not q[_Q_LINKED]
    answer = p.presence.answer
    if answer is None and linked and monotonic() < q[_Q_UNTIL]:
        return
    end(p, answer)
    rid = q[_Q_ID]
    if answer:
        p.run(rid, q[_Q_DONE], (True,))
    elif answer is None and not linked:
        return  # nobody is there to read the reply
    elif answer is None:
        p.error(rid, "presence_timeout", "nobody answered on the fob within %d s; nothing "
                "was changed" % SECONDS)
    else:
        p.error(rid, "refused", "refused on the fob; nothing was changed")


def end(p, answer):
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
