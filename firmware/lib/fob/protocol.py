# JSON-lines requests from the host over usb_cdc.data; the spec is docs/protocol.md.
#
# poll() runs once per main-loop pass, so it must never block and never raise: it reads
# only what is already waiting, answers at most a few lines, and spreads long replies
# (list, code, selftest) over several passes so buttons and screen stay responsive.
import json

from fob import base32, otp, version
from fob.vault import (ALGORITHMS, CAPACITY, ISSUER_MAX, NAME_MAX, PERIOD_MAX, SECRET_MAX,
                       SECRET_MIN, Account, VaultError)

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_LINE = const(2048)
_READ_CHUNK = const(512)
_READS_PER_POLL = const(4)
_LINES_PER_POLL = const(4)
_ID_MAX = const(64)
_SECRET_TEXT_MAX = const(512)
_SECRET_WEAK = const(10)
# The DS3231 counts years 2000-2099 only.
_TIME_MIN = 946684800
_TIME_MAX = 4102444799

COMMANDS = ("hello", "info", "time_get", "time_set", "add", "add_many", "list", "delete",
            "rename", "move", "code", "reset", "selftest")

# RFC 4226 appendix D and RFC 6238 appendix B: (name, algorithm, key, counter or time,
# digits, expected). A counter check has time None.
_K20 = b"12345678901234567890"
_K32 = b"12345678901234567890123456789012"
_K64 = b"1234567890123456789012345678901234567890123456789012345678901234"
_HOTP = ("755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
         "399871", "520489")
_TOTP = (
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
)


class ProtocolError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _get_int(req, key, default=None, lo=None, hi=None, prefix=""):
    v = req.get(key, default)
    if v is None:
        raise ProtocolError("bad_argument", prefix + key + " is required")
    if not _is_int(v):
        raise ProtocolError("bad_argument", prefix + key + " must be an integer")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ProtocolError("bad_argument", "%s%s must be %d to %d" % (prefix, key, lo, hi))
    return v


def _get_str(req, key, default=None, prefix=""):
    v = req.get(key, default)
    if v is None:
        raise ProtocolError("bad_argument", prefix + key + " is required")
    if not isinstance(v, str):
        raise ProtocolError("bad_argument", prefix + key + " must be a string")
    return v


def _get_bool(req, key, default=False, prefix=""):
    v = req.get(key, default)
    if not isinstance(v, bool):
        raise ProtocolError("bad_argument", prefix + key + " must be true or false")
    return v


def _leaks(message, text):
    # A decoder message quoting a run of the offending input would hand part of a secret
    # back; any 4 characters of it in a row is treated as a quote.
    clean = text.replace(" ", "").upper()
    msg = message.upper()
    for i in range(len(clean) - 3):
        if clean[i:i + 4] in msg:
            return True
    return False


def _secret(req, prefix):
    text = req.get("secret")
    if not isinstance(text, str):
        raise ProtocolError("bad_secret", prefix + "secret must be base32 text")
    if len(text) > _SECRET_TEXT_MAX:
        raise ProtocolError("bad_secret", prefix + "secret is too long (at most %d bytes)"
                            % SECRET_MAX)
    try:
        key = base32.decode(text)
    except MemoryError:
        raise
    except Exception as e:  # the decoder's ValueError, or anything odd it may raise
        why = str(e) if isinstance(e, ValueError) else ""
        if not why or len(why) > 100 or _leaks(why, text):
            why = "not valid base32"
        raise ProtocolError("bad_secret", prefix + "secret: " + why) from None
    n = len(key)
    if n < SECRET_MIN or n > SECRET_MAX:
        raise ProtocolError("bad_secret", "%ssecret is %d bytes once decoded (must be %d to %d)"
                            % (prefix, n, SECRET_MIN, SECRET_MAX))
    warning = None
    if n < _SECRET_WEAK:
        warning = ("%ssecret is only %d bits; RFC 4226 asks for at least 128"
                   % (prefix, n * 8))
    return key, warning


def _account(req, created, prefix=""):
    """Build an Account from request arguments; returns (account, warning or None)."""
    if not isinstance(req, dict):
        raise ProtocolError("bad_argument", prefix + "must be an object")
    name = _get_str(req, "name", "", prefix)
    issuer = _get_str(req, "issuer", "", prefix)
    alg = _get_str(req, "algorithm", "SHA1", prefix).upper()
    if alg not in ALGORITHMS:
        raise ProtocolError("bad_argument", prefix + "algorithm must be one of "
                            + ", ".join(ALGORITHMS))
    if alg == "STEAM":
        digits = _get_int(req, "digits", 5, 5, 5, prefix)
    else:
        digits = _get_int(req, "digits", 6, 6, 8, prefix)
    period = _get_int(req, "period", 30, 1, PERIOD_MAX, prefix)
    key, warning = _secret(req, prefix)
    try:
        return Account(name, issuer, key, alg, digits, period, created), warning
    except VaultError as e:
        raise _vault_error(e, prefix) from None


def _entry(i, a):
    return {"index": i, "issuer": a.issuer, "name": a.name, "algorithm": a.algorithm,
            "digits": a.digits, "period": a.period, "created": a.created}


def _vault_error(e, prefix=""):
    code = "bad_argument" if e.code == "bad_account" else e.code
    return ProtocolError(code, prefix + e.message)


class Protocol:
    def __init__(self, port, vault, clock, info=None):
        self.port = port
        self.vault = vault
        self.clock = clock
        self.info = info if info is not None else {}
        self.requests = 0
        self._buf = b""
        self._skipping = False
        # A long reply being written: [items iterator, items per poll, first?, tail fn].
        self._job = None

    @property
    def pending(self):
        """True while a reply is half written or a whole request waits in the buffer."""
        return self._job is not None or self._buf.find(b"\n") >= 0

    # -- framing -----------------------------------------------------------------

    def poll(self):
        try:
            self._poll()
        except Exception as e:  # the main loop must survive anything a host sends
            self._buf = b""
            self._skipping = False
            self._job = None
            try:
                self._error(None, "internal", "internal error (%s)" % type(e).__name__)
            except Exception:
                pass

    def _poll(self):
        if self._job is not None:
            self._run_job()
            return
        lines = 0
        reads = 0
        while lines < _LINES_PER_POLL and self._job is None:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if reads >= _READS_PER_POLL or not self._fill():
                    return
                reads += 1
                continue
            line = self._buf[:nl]
            self._buf = self._buf[nl + 1:]
            lines += 1
            if self._skipping:
                self._skipping = False
                self._error(None, "line_too_long", "request longer than %d bytes, dropped"
                            % MAX_LINE)
                continue
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > MAX_LINE:
                self._error(None, "line_too_long", "request longer than %d bytes, dropped"
                            % MAX_LINE)
                continue
            if line.strip():
                self._handle(line)

    def _fill(self):
        n = self.port.in_waiting
        if not n:
            return False
        data = self.port.read(min(n, _READ_CHUNK))
        if not data:
            return False
        buf = self._buf + data
        if buf.find(b"\n") < 0:
            # No line end yet: once past the limit (plus a possible \r) the line is lost
            # anyway, so keep nothing of it rather than let the buffer grow.
            if self._skipping or len(buf) > MAX_LINE + 1:
                self._skipping = True
                buf = b""
        self._buf = buf
        return True

    def _write(self, text):
        self.port.write(text.encode("utf-8"))

    def _reply(self, rid, result):
        result["id"] = rid
        result["ok"] = True
        self._write(json.dumps(result) + "\n")

    def _error(self, rid, code, message):
        self._write(json.dumps({"id": rid, "ok": False,
                                "error": {"code": code, "message": message}}) + "\n")

    def _handle(self, line):
        self.requests += 1
        try:
            text = str(line, "utf-8")
        except UnicodeError:
            self._error(None, "bad_json", "request is not valid UTF-8")
            return
        try:
            req = json.loads(text)
        except Exception:  # ValueError; CPython may also raise RecursionError on deep nesting
            self._error(None, "bad_json", "request is not valid JSON")
            return
        if not isinstance(req, dict):
            self._error(None, "bad_json", "request must be a JSON object")
            return
        rid = req.get("id")
        if not (_is_int(rid) or (isinstance(rid, str) and len(rid) <= _ID_MAX)):
            self._error(None, "bad_request", "id must be an integer or a string of at most "
                        "%d characters" % _ID_MAX)
            return
        cmd = req.get("cmd")
        if not isinstance(cmd, str):
            self._error(rid, "bad_request", "cmd must be a string")
            return
        if cmd not in COMMANDS:
            self._error(rid, "unknown_command", "unknown command; hello lists the commands")
            return
        try:
            result = getattr(self, "_cmd_" + cmd)(req)
        except ProtocolError as e:
            self._error(rid, e.code, e.message)
            return
        except VaultError as e:
            e = _vault_error(e)
            self._error(rid, e.code, e.message)
            return
        except MemoryError:
            self._error(rid, "internal", "out of memory")
            return
        except Exception as e:
            self._error(rid, "internal", "internal error (%s)" % type(e).__name__)
            return
        if isinstance(result, dict):
            self._reply(rid, result)
        else:
            self._start_job(rid, result)

    # -- long replies ------------------------------------------------------------

    def _start_job(self, rid, job):
        # job: (head dict, list key, items iterator, items per poll, tail fn or None)
        head, key, items, per_poll, tail = job
        head["id"] = rid
        head["ok"] = True
        text = json.dumps(head)
        self._write(text[:-1] + ', "' + key + '": [')
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

    def _now(self):
        try:
            return self.clock.now() if self.clock is not None else None
        except Exception:
            return None

    def _clock_state(self):
        if self.clock is None:
            return "no_clock"
        try:
            return self.clock.reason
        except Exception:
            return "io_error"

    def _cmd_hello(self, req):
        v = self.vault
        info = self.info
        out = {
            "protocol": version.PROTOCOL,
            "firmware": info.get("firmware", version.FIRMWARE),
            "serial": info.get("serial"),
            "board": info.get("board"),
            "capabilities": list(COMMANDS),
            "algorithms": list(ALGORITHMS),
            "capacity": v.capacity,
            "accounts": len(v.accounts),
            "bytes_used": v.bytes_used,
            "bytes_free": v.bytes_free,
            "max_line": MAX_LINE,
            "time": self._now(),
            "clock": self._clock_state(),
            "limits": {"name": NAME_MAX, "issuer": ISSUER_MAX, "secret_min": SECRET_MIN,
                       "secret_max": SECRET_MAX, "period_max": PERIOD_MAX},
        }
        for k in ("display", "buttons"):
            if k in info:
                out[k] = info[k]
        return out

    _cmd_info = _cmd_hello

    def _cmd_time_get(self, req):
        t = self._now()
        return {"time": t, "valid": t is not None, "clock": self._clock_state()}

    def _cmd_time_set(self, req):
        t = _get_int(req, "time", None, _TIME_MIN, _TIME_MAX)
        if self.clock is None:
            raise ProtocolError("io", "this fob has no clock")
        try:
            self.clock.set(t)
        except Exception as e:
            raise ProtocolError("io", "cannot set the clock (%s)" % type(e).__name__) from None
        return self._cmd_time_get(req)

    def _cmd_add(self, req):
        overwrite = _get_bool(req, "overwrite")
        acc, warning = _account(req, self._now() or 0)
        replaced = self.vault.find(acc.issuer, acc.name) is not None
        index = self.vault.add(acc, overwrite)
        out = {"index": index, "replaced": replaced}
        if warning:
            out["warning"] = warning
        return out

    def _cmd_add_many(self, req):
        overwrite = _get_bool(req, "overwrite")
        items = req.get("accounts")
        if not isinstance(items, list):
            raise ProtocolError("bad_argument", "accounts must be a list")
        if len(items) > CAPACITY:
            raise ProtocolError("full", "at most %d accounts fit" % CAPACITY)
        created = self._now() or 0
        accs = []
        warnings = []
        replaced = 0
        for n, item in enumerate(items):
            acc, warning = _account(item, created, "accounts[%d]: " % n)
            accs.append(acc)
            if warning:
                warnings.append(warning)
            if self.vault.find(acc.issuer, acc.name) is not None:
                replaced += 1
        indexes = self.vault.add_many(accs, overwrite)
        out = {"added": len(accs) - replaced, "replaced": replaced, "indexes": indexes}
        if warnings:
            out["warnings"] = warnings
        return out

    def _cmd_list(self, req):
        accounts = list(self.vault.accounts)
        return ({}, "accounts", _list_items(accounts), 16, None)

    def _cmd_delete(self, req):
        v = self.vault
        if "index" in req:
            if "name" in req or "issuer" in req:
                raise ProtocolError("bad_argument", "give index, or issuer and name, not both")
            i = _get_int(req, "index")
        elif "name" in req:
            issuer = _get_str(req, "issuer", "")
            name = _get_str(req, "name")
            i = v.find(issuer, name)
            if i is None:
                raise ProtocolError("not_found", "no account for %s / %s" % (issuer, name))
        else:
            raise ProtocolError("bad_argument", "give index, or issuer and name")
        gone = v.delete(i)
        return {"deleted": {"index": i, "issuer": gone.issuer, "name": gone.name}}

    def _cmd_rename(self, req):
        i = _get_int(req, "index")
        name = _get_str(req, "name")
        issuer = req.get("issuer")
        if issuer is not None and not isinstance(issuer, str):
            raise ProtocolError("bad_argument", "issuer must be a string")
        acc = self.vault.rename(i, name, issuer)
        return {"index": i, "issuer": acc.issuer, "name": acc.name}

    def _cmd_move(self, req):
        i = _get_int(req, "index")
        j = _get_int(req, "to")
        return {"index": self.vault.move(i, j)}

    def _cmd_code(self, req):
        accounts = self.vault.accounts
        pick = None
        if "index" in req:
            i = _get_int(req, "index")
            if i < 0 or i >= len(accounts):
                raise ProtocolError("not_found", "no account at index %d (there are %d)"
                                    % (i, len(accounts)))
            pick = [(i, accounts[i])]
        elif "all" in req:
            _get_bool(req, "all")
        t = self._now()
        if t is None:
            raise ProtocolError("clock_not_set", "the fob's clock is not set (%s)"
                                % self._clock_state())
        if pick is None:
            pick = list(enumerate(accounts))
        return ({"time": t}, "codes", _code_items(pick, t), 2, None)

    def _cmd_reset(self, req):
        if req.get("confirm") is not True:
            raise ProtocolError("bad_argument", "reset erases every account; send confirm: true")
        self.vault.wipe()
        return {"accounts": 0}

    def _cmd_selftest(self, req):
        result = [True]
        return ({}, "checks", _selftest_items(result), 1, lambda: {"pass": result[0]})


def _list_items(accounts):
    for i, a in enumerate(accounts):
        yield _entry(i, a)


def _code_items(pick, t):
    for i, a in pick:
        item = {"index": i, "issuer": a.issuer, "name": a.name, "digits": a.digits,
                "period": a.period, "seconds_left": a.period - t % a.period}
        try:
            item["code"] = otp.totp(a.secret, t, digits=a.digits, period=a.period,
                                    algorithm=a.algorithm.lower())
        except MemoryError:
            item["code"] = None
            item["error"] = {"code": "internal", "message": "out of memory"}
        except Exception as e:
            # The exception text is not passed on: it could quote key material.
            item["code"] = None
            item["error"] = {"code": "internal", "message": "cannot compute the code (%s)"
                             % type(e).__name__}
        yield item


def _selftest_items(result):
    checks = [("rfc4648 base32", None, None, None, None, None)]
    for c, want in enumerate(_HOTP):
        checks.append(("rfc4226 counter %d" % c, "sha1", _K20, c, None, want))
    for row in _TOTP:
        t = row[0]
        for alg, key, want in (("sha1", _K20, row[1]), ("sha256", _K32, row[2]),
                               ("sha512", _K64, row[3])):
            checks.append(("rfc6238 %s t=%d" % (alg, t), alg, key, None, t, want))
    for name, alg, key, counter, t, want in checks:
        try:
            if alg is None:
                got = base32.decode("MZXW6YTBOI======")
                want = b"foobar"
                ok = got == want
                got = want = None
            elif t is None:
                got = otp.hotp(key, counter, digits=6, algorithm=alg)
            else:
                got = otp.totp(key, t, digits=8, period=30, algorithm=alg)
            if want is not None:
                ok = got == want
        except Exception as e:
            ok = False
            got = "error (%s)" % type(e).__name__
        item = {"name": name, "pass": ok}
        if not ok:
            result[0] = False
            if want is not None:
                item["expected"] = want
            if got is not None:
                item["got"] = got
        yield item
