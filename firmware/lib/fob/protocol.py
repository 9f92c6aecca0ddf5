# JSON-lines requests from the host over usb_cdc.data; the spec is docs/protocol.md.
#
# poll() runs once per main-loop pass, so it must never block and never raise: it reads
# only what is already waiting, answers at most a few lines, and spreads long replies
# (list, code, selftest) over several passes so buttons and screen stay responsive.
# This module stays in RAM beside the UI from boot on, so it holds only the framing. Who
# may do what, and the questions to the holder, are in fob/policy.py, imported at the
# first request with the everyday commands (fob/commands.py); the handlers that change
# things (fob/provision.py, clockset.py, prefs.py, access.py) are imported at their
# first request; the OTP engine when a code is asked for.
import json

from fob.vault import VaultError
from fob.wire import MAX_LINE, WORK, monotonic, port_linked, unload

from micropython import const

_READ_CHUNK = const(512)
# Work per main-loop pass: a request that reaches a command costs _REQUEST_COST, a line
# refused by the framing costs 1 and a blank line nothing, so a pass answers at most four
# requests (the screen keeps its second) yet a flood of junk or newlines drains quickly.
_READS_PER_POLL = const(48)
_WORK_PER_POLL = const(96)
# What a change loads and no code or list needs (see _let_go).
_CHANGE_MODULES = ("provision", "vault_edit", "check")
_REQUEST_COST = const(24)
# A partial line is dropped this long (seconds) after its first byte came, once nothing
# more waits to be read: a program that left a line unfinished, or keeps adding a byte
# now and then, cannot glue it to another program's request for longer.
_PARTIAL_AGE = const(2)
# Requests start with this (hosts put the id first). Bytes before the last such start
# in a line are what another program left unfinished: the line is read from there.
_START = b'{"id":'
# A logged-in host ends each request with ,"mac":"<64 hex>"} (docs/protocol.md,
# "Sessions"): _MAC_TAIL bytes, the first _MAC_HEAD_LEN of them fixed.
_MAC_HEAD = b',"mac":"'
_MAC_HEAD_LEN = const(8)
_MAC_TAIL = const(74)
_ID_MAX = const(64)
# How long one write may wait for a host that takes no more bytes (seconds). A host's
# kernel reads for its program, so a write waits only once the program has left some 64 KB
# unread; after one such write the rest of the pass's output is dropped (see write()).
_WRITE_WAIT = 0.1


class Protocol:
    def __init__(self, port, vault, clock, info=None, presence=None, settings=None,
                 linked=None):
        self.port = port
        self.vault = vault
        self.clock = clock
        self.info = info if info is not None else {}
        # The fob's preferences (fob/settings.py), shared with the UI; None: defaults.
        self.settings = settings
        # Asks the person holding the fob (the UI: ask(prompt), answer, cancel()); None on
        # a fob without one, which then refuses everything that needs a press.
        self.presence = presence
        self._guard = None
        # Login state (fob/access.py keeps its layout) while logged in, else None; a
        # challenge handed out but not yet answered waits in challenge.
        self.session = None
        self.challenge = None
        # True while the request being answered carried a valid MAC of the live session;
        # who may do what (fob/policy.py) reads it.
        self.authed = False
        # The question waiting for the holder's answer and the cooldown after unanswered
        # ones (fob/ask.py keeps their layouts).
        self.question = None
        self.cooldown = [0.0, 0.0]
        self.requests = 0
        self._buf = b""
        self._skipping = False
        # True once a write this pass was cut short: the host is not reading.
        self._deaf = False
        try:
            # usb_cdc waits forever by default: a program that keeps the port open and
            # never reads would stop the main loop.
            port.write_timeout = _WRITE_WAIT
        except (AttributeError, TypeError):
            pass
        # When the unfinished line in the buffer began (see _PARTIAL_AGE), and the port's
        # link state at the last pass.
        self._since = 0.0
        # (`linked`: the state the caller saw, when it made the protocol for a host it saw
        # come: a host gone again by the first pass is then seen to leave, and what it
        # sent is dropped.)
        self._link = port_linked(port) if linked is None else linked
        # A long reply being written: [items iterator, items per poll, first?, tail fn].
        self._job = None
        # A long change being made a step a pass (fob/wire.py's WORK): [request id, steps].
        self._work = None
        # A staged add_many batch (fob/provision.py keeps its layout), or None.
        self.stage = None
        # Changes made without a press since power-up (fob/policy.py limits them).
        self.quiet_writes = 0

    @property
    def pending(self):
        """True while a reply is half written, a request waits for a press, or a whole
        request waits in the buffer."""
        return (self._job is not None or self._work is not None
                or self.question is not None or self._buf.find(b"\n") >= 0)

    @property
    def streaming(self):
        """True while a long reply is half written or a long change is being made: the
        main loop then goes on without its idle sleep, so 200 codes take 100 passes, not
        100 sleeps."""
        return self._job is not None or self._work is not None

    @property
    def guard(self):
        if self._guard is None:
            from fob.guard import Guard

            self._guard = Guard(self.vault.root, self.vault.fs)
        return self._guard

    def linked(self):
        return port_linked(self.port)

    # -- framing -----------------------------------------------------------------

    def poll(self):
        self._deaf = False
        try:
            linked = port_linked(self.port)
            if linked != self._link:
                self._link = linked
                self._dropped()
            if self.stage is not None:
                from fob import provision

                provision.expire(self, linked)
            if self.session is not None or self.question is not None:
                from fob import policy

                policy.poll(self, linked)
            self._poll()
        except Exception as e:  # the main loop must survive anything a host sends
            self._buf = b""
            self._skipping = False
            self._job = None
            self._end_work()
            self.stage = None
            if self.question is not None:
                from fob import ask

                ask.end(self, None)
            try:
                self.error(None, "internal", "internal error (%s)" % type(e).__name__)
            except Exception:
                pass

    def _dropped(self):
        # The link changed: whoever was there left, or a new program came. What the old
        # one sent and the fob has not read is dropped, so it holds up nobody; a program
        # that opens the port sends after it has opened it (no bytes of its own are lost
        # as the link goes down, and the fob drops only its own buffer as it comes up).
        self._buf = b""
        self._skipping = False
        if not self._link:
            try:
                self.port.reset_input_buffer()
            except (AttributeError, OSError):
                n = self.port.in_waiting
                while n:
                    self.port.read(min(n, _READ_CHUNK))
                    n = self.port.in_waiting

    def _poll(self):
        if self._job is not None:
            self._run_job()
            return
        if self._work is not None:
            # A step of the change a pass; requests that come meanwhile wait their turn
            # (a few seconds at most), in order, as behind a long reply.
            self._step()
            return
        if (self._buf or self._skipping) and self._buf.find(b"\n") < 0 and \
                monotonic() - self._since > _PARTIAL_AGE and not self.port.in_waiting:
            self._buf = b""
            self._skipping = False
        work = 0
        reads = 0
        # A request that puts a question ends the pass's reading: the question gets its
        # answer looked at before anything else is read.
        q = self.question
        while work < _WORK_PER_POLL and self._job is None and self.question is q:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if reads >= _READS_PER_POLL or not self._fill():
                    return
                reads += 1
                continue
            line = self._buf[:nl]
            self._buf = self._buf[nl + 1:]
            if line.endswith(b"\r"):
                line = line[:-1]
            if self._skipping or len(line) > MAX_LINE:
                self._skipping = False
                work += 1
                self.error(None, "line_too_long", "request longer than %d bytes, dropped"
                           % MAX_LINE)
            elif line.strip():
                work += _REQUEST_COST if self._handle(line) else 1

    def _fill(self):
        n = self.port.in_waiting
        if not n:
            return False
        data = self.port.read(min(n, _READ_CHUNK))
        if not data:
            return False
        buf = self._buf
        if not buf or buf[-1] == 0x0A:
            # A new line begins with these bytes: its age counts from now.
            self._since = monotonic()
        buf = buf + data if buf else data
        if buf.find(b"\n") < 0:
            # No line end yet: once past the limit (plus a possible \r) the line is lost
            # anyway, so keep nothing of it rather than let the buffer grow.
            if self._skipping or len(buf) > MAX_LINE + 1:
                self._skipping = True
                buf = b""
        self._buf = buf
        return True

    def write(self, text):
        if self._deaf:
            return
        data = text.encode("utf-8")
        n = self.port.write(data)
        if n is not None and n < len(data):
            # The host stopped reading: what it gets is broken anyway, so the long reply
            # ends and nothing more is written this pass (the loop must go on).
            self._deaf = True
            self._job = None

    def error(self, rid, code, message):
        self.write(json.dumps({"id": rid, "ok": False,
                               "error": {"code": code, "message": message}}) + "\n")

    def _handle(self, line):
        # True when the line reached a command (it costs a pass more than a refused one).
        self.requests += 1
        self.authed = False
        rid = None
        start = line.rfind(_START)
        if start > 0:
            line = line[start:]
        n = len(line)
        mac = None
        if (n > _MAC_TAIL and line[n - 2:] == b'"}'
                and line[n - _MAC_TAIL:n - _MAC_TAIL + _MAC_HEAD_LEN] == _MAC_HEAD):
            # Checked before the JSON is read; the MAC member is cut off either way.
            from fob import access

            mac = access.check_mac(self, line[:n - _MAC_TAIL],
                                   line[n - _MAC_TAIL + _MAC_HEAD_LEN:n - 2])
            line = line[:n - _MAC_TAIL] + b"}"
        try:
            try:
                req = json.loads(str(line, "utf-8"))
            except Exception:  # UnicodeError, ValueError; CPython: RecursionError too
                raise VaultError("bad_json", "request is not valid UTF-8 JSON") from None
            if not isinstance(req, dict):
                raise VaultError("bad_json", "request must be a JSON object")
            rid = req.get("id")
            from fob.args import is_int

            if not (is_int(rid) or (isinstance(rid, str) and len(rid) <= _ID_MAX)):
                rid = None
                raise VaultError("bad_request", "id must be an integer or a string of at "
                                 "most %d characters" % _ID_MAX)
            cmd = req.get("cmd")
            if not isinstance(cmd, str):
                raise VaultError("bad_request", "cmd must be a string")
            if mac is False:
                # Replayed, reordered, foreign or from an ended session: nothing runs, and
                # the live session (its counter too) stays as it was.
                raise VaultError("auth_required", "this request's MAC does not fit the "
                                 "fob's session (ended, or another program's): log in again")
        except VaultError as e:
            self.error(rid, e.code, e.message)
            return False
        self.authed = mac is True
        # Which commands exist, who may use them and what the holder is asked is settled
        # in fob/policy.py, which answers the request itself.
        from fob import policy

        self.run(rid, policy.dispatch, (self, rid, cmd, req))
        return True

    def run(self, rid, fn, args):
        # Runs a command (or the approved part of one) and writes its reply: fn answers
        # by itself (None) or returns what to answer (see reply()).
        try:
            result = fn(*args)
            if isinstance(result, tuple) and result[0] == WORK:
                # A long change: its steps run one a pass (_step), and its end answers.
                self._work = [rid, result[1]]
            elif result is not None:
                self.reply(rid, result)
        except VaultError as e:
            self.error(rid, "bad_argument" if e.code == "bad_account" else e.code,
                       e.message)
        except MemoryError:
            self.error(rid, "internal", "out of memory")
        except Exception as e:
            self.error(rid, "internal", "internal error (%s)" % type(e).__name__)
        self._let_go()

    def _let_go(self):
        # Once no change is under way, asked or staged, the modules that make changes go,
        # leaving their heap to codes and replies: after a change (with them loaded after
        # an import of 200, the SHA-512 codes ran out of memory on CircuitPython 10.2.1),
        # and after a change refused or out of memory (a rename that ran out of memory on
        # 9.2.8 left them loaded, and every later request, hello too, ran out as well).
        if self._work is None and self.stage is None and self.question is None:
            for name in _CHANGE_MODULES:
                unload(name)

    def reply(self, rid, result, interim=False):
        """Writes a reply: a dict (ok, or an interim line), or a long reply (a tuple:
        fob/policy.py's LONG, head, list key, items, items per poll, tail fn or None)."""
        if isinstance(result, dict):
            result["id"] = rid
            if not interim:
                result["ok"] = True
            self.write(json.dumps(result) + "\n")
            return
        head, key, items, per_poll, tail = result[1:]
        head["id"] = rid
        head["ok"] = True
        self.write(json.dumps(head)[:-1] + ', "' + key + '": [')
        self._job = [items, per_poll, True, tail]
        self._run_job()

    def logout(self):
        self.session = None
        self.challenge = None

    # -- long changes ------------------------------------------------------------

    def _step(self):
        rid, steps = self._work
        try:
            next(steps)
            return
        except StopIteration as e:
            self._work = None
            result = e.args[0] if e.args else None
            self.run(rid, lambda: result, ())
        except Exception as e:
            self._work = None
            self.run(rid, _raise, (e,))

    def _end_work(self):
        # Abandoned (the loop caught an error): the steps' own clean-up runs.
        work = self._work
        self._work = None
        if work is not None:
            try:
                work[1].close()
            except Exception:
                pass

    # -- long replies ------------------------------------------------------------

    def _run_job(self):
        job = self._job
        items, per_poll, first, tail = job
        try:
            for _ in range(per_poll):
                try:
                    item = next(items)
                except StopIteration:
                    self._job = None
                    end = "]"
                    if tail is not None:
                        for k, v in tail().items():
                            end += ", " + json.dumps(k) + ": " + json.dumps(v)
                    self.write(end + "}\n")
                    return
                self.write(json.dumps(item) if first else ", " + json.dumps(item))
                first = False
            job[2] = first
        except Exception as e:
            # Half a line is already out: close it so the host sees one parsable reply.
            self._job = None
            self.write('], "error": ' + json.dumps(
                {"code": "internal", "message": "internal error (%s)" % type(e).__name__})
                + "}\n")

    # -- the fob's state, for the handlers ----------------------------------------

    def now(self):
        try:
            return self.clock.now() if self.clock is not None else None
        except Exception:
            return None

    def clock_state(self):
        if self.clock is None:
            return "no_clock"
        try:
            return self.clock.reason
        except Exception:
            return "io_error"

    def aging(self):
        # The DS3231's aging offset; None when the clock has no such register or cannot
        # be read.
        try:
            return self.clock.aging()
        except Exception:
            return None

    def time_reply(self):
        # time_get's reply, and a clock set's. clock.now() reads the chip only near the
        # tick it expects, so for a while after a stall it can still give the previous
        # second; hosts time the fob's ticks to milliseconds with time_get, so ask the
        # chip's seconds register itself.
        t = self.now()
        if t is not None:
            try:
                if (self.clock.chip_second() - t) % 60 == 1:
                    t += 1
            except Exception:
                pass
        return {"time": t, "valid": t is not None, "clock": self.clock_state(),
                "aging": self.aging()}


def _raise(e):
    raise e
