# JSON-lines requests from the host over usb_cdc.data; the spec is docs/protocol.md.
#
# poll() runs once per main-loop pass, so it must never block and never raise: it reads
# only what is already waiting, answers at most a few lines, and spreads long replies
# (list, code, selftest) over several passes so buttons and screen stay responsive.
# This module stays in RAM beside the UI from boot on, so it holds only the framing. Who
# may do what is in fob/policy.py and the everyday commands in fob/commands.py, both
# imported at the first request (policy.py also puts questions to the holder); what changes
# the accounts is in fob/provision.py, the clock's and the settings' commands in
# fob/clockset.py and fob/prefs.py, each imported at its first request; the login in
# fob/access.py; the
# OTP engine is imported when a code is asked for; the selftest vectors are in
# fob/selftest.py, loaded for one selftest and dropped after it.
import json
import time

from fob.vault import VaultError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_LINE = const(2048)
_READ_CHUNK = const(512)
# Work per main-loop pass: a request that reaches a command costs _REQUEST_COST, a line
# refused by the framing costs 1 and a blank line nothing, so a pass answers at most four
# requests (the screen keeps its second) yet a flood of junk or newlines drains quickly.
_READS_PER_POLL = const(48)
_WORK_PER_POLL = const(96)
_REQUEST_COST = const(24)
# A partial line is dropped after this long without a byte (seconds), or when the port's
# link state changed since its last byte came: it belongs to a program that went away.
_SILENCE = const(2)
# A logged-in host ends each request with ,"mac":"<64 hex>"} (docs/protocol.md,
# "Sessions"): _MAC_TAIL bytes, the first _MAC_HEAD_LEN of them fixed.
_MAC_HEAD = b',"mac":"'
_MAC_HEAD_LEN = const(8)
_MAC_TAIL = const(74)
# Written before the last wrong try is checked, emptied once the wipe it may start is
# done or the try was right: a power cut in between is finished at the next boot.
WIPE_MARK = "wipe_due"
_ID_MAX = const(64)
# How long one write may wait for a host that takes no more bytes (seconds). A host's
# kernel reads for its program, so a write waits only once the program has left some 64 KB
# unread; after one such write the rest of the pass's output is dropped (see write()).
_WRITE_WAIT = 0.1
# A staged batch whose host went quiet this long (seconds) is dropped.
_STAGE_TIMEOUT = const(30)
# A staged add_many batch is a list; fob/provision.py fills it and names every slot.
# These three, the same there, are all the expiry check needs.
_S_AT = const(0)         # time.monotonic() of the last part
_S_LINKED = const(1)     # the port said "connected" at the last part
_S_ACCOUNTS = const(2)   # the Account objects so far


def monotonic():
    # CircuitPython has time.monotonic(); MicroPython has only time.time() (whole seconds
    # on some ports), which is enough for a timeout of half a minute. Looked up by name
    # only when missing: a stand-in time module may lack time.time.
    try:
        return time.monotonic()
    except AttributeError:
        return time.time()


def port_linked(port):
    # usb_cdc's "connected" (DTR up); a port without one is taken as always connected.
    # Not getattr(port, name, default): MicroPython lets a module's __getattr__ raise
    # through it.
    try:
        return bool(port.connected)
    except AttributeError:
        return True


class Protocol:
    def __init__(self, port, vault, clock, info=None, presence=None):
        self.port = port
        self.vault = vault
        self.clock = clock
        self.info = info if info is not None else {}
        # Asks the person holding the fob (the UI: ask(prompt), answer, cancel()); None on
        # a fob without one, which then refuses everything that needs a press.
        self.presence = presence
        self._guard = None
        # Login state: [last request time, the port said "connected" at login, fob nonce,
        # host nonce] while logged in, else None. A challenge handed out but not yet
        # answered waits in challenge.
        self.session = None
        # True while the request being answered comes from the logged-in host.
        self.authed = False
        self.challenge = None
        # A request waiting for a press: [id, function to run on yes, deadline, the port
        # said "connected" when it began].
        self._ask = None
        self.requests = 0
        # True while the request being answered carried a valid MAC of the live session;
        # who may do what (fob/guard.py) reads it.
        self.authed = False
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
        # When the last byte came, and the port's link state then (see _SILENCE).
        self._heard = 0
        self._link = True
        # A long reply being written: [items iterator, items per poll, first?, tail fn].
        self._job = None
        # A staged add_many batch (slots named in fob/provision.py), or None.
        self._stage = None
        # Settings saved without a press since power-up (fob/provision.py limits them).
        self.quiet_writes = 0
        try:
            from fob.vault import join

            if vault.fs.size(join(vault.root, WIPE_MARK)):
                # The power went while the last try was checked: finish the wipe, if due.
                from fob import access

                access.boot_wipe(self)
        except Exception:
            pass  # the login refuses to run on until the wipe is done (fob/access.py)

    @property
    def pending(self):
        """True while a reply is half written, a request waits for a press, or a whole
        request waits in the buffer."""
        return (self._job is not None or self._ask is not None
                or self._buf.find(b"\n") >= 0)

    @property
    def streaming(self):
        """True while a long reply is half written: the main loop then goes on without its
        idle sleep, so 200 codes take 100 passes, not 100 sleeps."""
        return self._job is not None

    @property
    def staged(self):
        """How many accounts a staged add_many batch holds (0 when none)."""
        return len(self._stage[_S_ACCOUNTS]) if self._stage is not None else 0

    @property
    def stage(self):
        """A staged add_many batch (slots named in fob/provision.py), or None."""
        return self._stage

    @stage.setter
    def stage(self, st):
        self._stage = st

    @property
    def question(self):
        """The request waiting for a press (fob/policy.py), or None."""
        return self._ask

    @question.setter
    def question(self, q):
        self._ask = q

    @property
    def guard(self):
        if self._guard is None:
            from fob.guard import Guard

            self._guard = Guard(self.vault.root, self.vault.fs)
        return self._guard

    # -- framing -----------------------------------------------------------------

    def poll(self):
        self._deaf = False
        try:
            st = self._stage
            if st is not None and (monotonic() - st[_S_AT] > _STAGE_TIMEOUT or (
                    st[_S_LINKED] and not port_linked(self.port))):
                self._stage = None
            if self.session is not None or self._ask is not None:
                from fob import policy

                if policy.poll(self, port_linked(self.port)):
                    return
            self._poll()
        except Exception as e:  # the main loop must survive anything a host sends
            self._buf = b""
            self._skipping = False
            self._job = None
            self._stage = None
            if self._ask is not None:
                from fob import policy

                policy.end_ask(self)
            try:
                self._error(None, "internal", "internal error (%s)" % type(e).__name__)
            except Exception:
                pass

    def _poll(self):
        if self._job is not None:
            self._run_job()
            return
        buf = self._buf
        if (buf or self._skipping) and buf.find(b"\n") < 0 and (
                monotonic() - self._heard > _SILENCE
                or port_linked(self.port) != self._link):
            self._buf = b""
            self._skipping = False
        work = 0
        reads = 0
        while work < _WORK_PER_POLL and self._job is None and self._ask is None:
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
                self._error(None, "line_too_long", "request longer than %d bytes, dropped"
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
        self._heard = monotonic()
        self._link = port_linked(self.port)
        buf = self._buf + data if self._buf else data
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

    _write = write
    _error = error

    def _handle(self, line):
        # True when the line reached a command (it costs a pass more than a refused one).
        self.requests += 1
        self.authed = False
        rid = None
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
            self._error(rid, e.code, e.message)
            return False
        self.authed = mac is True
        # Which commands exist and who may use them is settled in fob/policy.py.
        from fob import policy

        self.run(rid, policy.dispatch, (self, cmd, req))
        return True

    def run(self, rid, fn, args):
        # Runs a command (or the approved part of one) and writes its reply: a dict, a
        # long reply (a 5-tuple, written over several polls) or a request for a press (a
        # 2-tuple: prompt, function giving the reply once the person says yes).
        try:
            result = fn(*args)
            if isinstance(result, tuple) and len(result) == 2:
                from fob import policy

                policy.start_ask(self, rid, result[0], result[1])
                return
        except VaultError as e:
            self._error(rid, "bad_argument" if e.code == "bad_account" else e.code,
                        e.message)
            return
        except MemoryError:
            self._error(rid, "internal", "out of memory")
            return
        except Exception as e:
            self._error(rid, "internal", "internal error (%s)" % type(e).__name__)
            return
        if isinstance(result, dict):
            result["id"] = rid
            result["ok"] = True
            self._write(json.dumps(result) + "\n")
        else:
            self._start_job(rid, result)

    def logout(self):
        self.session = None
        self.challenge = None

    # -- long replies ------------------------------------------------------------

    def _start_job(self, rid, job):
        # job: (head dict, list key, items iterator, items per poll, tail fn or None)
        head, key, items, per_poll, tail = job
        head["id"] = rid
        head["ok"] = True
        self._write(json.dumps(head)[:-1] + ', "' + key + '": [')
        self._job = [items, per_poll, True, tail]
        self._run_job()

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
                    self._write(end + "}\n")
                    return
                self._write(json.dumps(item) if first else ", " + json.dumps(item))
                first = False
            job[2] = first
        except Exception as e:
            # Half a line is already out: close it so the host sees one parsable reply.
            self._job = None
            self._write('], "error": ' + json.dumps(
                {"code": "internal", "message": "internal error (%s)" % type(e).__name__})
                + "}\n")

    # -- commands ----------------------------------------------------------------

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
        # The DS3231's aging offset (adafruit_ds3231 calls it calibration); None when the
        # clock has no such register or cannot be read.
        try:
            return self.clock.rtc.calibration
        except Exception:
            return None
