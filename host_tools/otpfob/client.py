"""The fob's protocol, host side: JSON lines, one request and one reply, matched by id.

The client works over anything with `write_line(bytes)` and `read_line(timeout) -> bytes or
None` (see transport.SerialTransport), so it is tested without a port.
"""

from __future__ import annotations

import base64
import builtins
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otpfob import auth
from otpfob import check as checks
from otpfob.errors import EXIT_ERROR, EXIT_NO_FOB, EXIT_REFUSED, OtpfobError

if TYPE_CHECKING:
    from otpfob.otpauth import Account
    from otpfob.transport import LineTransport

# A reply from the fob, as JSON gives it (docs/protocol.md names its members per command).
Reply = dict[str, Any]
# Label strips by the text they draw (otpfob.labels).
Strips = Mapping[str, bytes]

MAX_LINE = 2048  # the fob's request line limit in bytes (protocol.md)


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Requests that change what the fob stores (a staged add_many part changes nothing yet).
CHANGES = frozenset(
    (
        "add",
        "add_many",
        "delete",
        "rename",
        "move",
        "reset",
        "time_set",
        "aging_set",
        "password_set",
        "password_clear",
        "settings_set",
        "setup",
    )
)

# Error codes that say the person at the fob said no (or did not answer).
REFUSED_CODES = ("refused", "presence_timeout", "cooldown")


class FobError(OtpfobError):
    """An error reply from the fob (its code and message) or no reply at all (`timeout`)."""

    def __init__(self, code: str, message: str) -> None:
        if code == "timeout":
            status = EXIT_NO_FOB
        else:
            status = EXIT_REFUSED if code in REFUSED_CODES else EXIT_ERROR
        OtpfobError.__init__(self, message, status)
        self.code = code
        self.message = message
        self.fob_code = code
        # For an import in batches (add_staged): the accounts stored by the batches
        # before the one that failed, and where that one began ("accounts[N]" counts
        # from there).
        self.stored = 0
        self.offset = 0

    def __str__(self) -> str:
        return self.message


def _int(value: Any, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class Credential:
    """An account on the fob as `list` gives it (the secret never leaves the fob).
    `index` is the fob's position (0 for the first account); `kind` "totp" or "hotp", whose
    `counter` is the counter of its next code."""

    index: int
    issuer: str
    name: str
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30
    created: int = 0
    kind: str = "totp"
    counter: int | None = None

    @property
    def label(self) -> str:
        """ "issuer:name", or the name alone when there is no issuer."""
        return "%s:%s" % (self.issuer, self.name) if self.issuer else self.name

    @classmethod
    def from_reply(cls, entry: Mapping[str, Any]) -> Credential:
        hotp = entry.get("type") == "hotp"
        return cls(
            index=_int(entry.get("index"), 0) or 0,
            issuer=str(entry.get("issuer") or ""),
            name=str(entry.get("name") or ""),
            algorithm=str(entry.get("algorithm") or "SHA1"),
            digits=_int(entry.get("digits"), 6) or 6,
            period=_int(entry.get("period"), 30) or 30,
            created=_int(entry.get("created"), 0) or 0,
            kind="hotp" if hotp else "totp",
            counter=_int(entry.get("counter")) if hotp else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The members the fob's `list` gives for this account (docs/protocol.md)."""
        out: dict[str, Any] = {
            "index": self.index,
            "issuer": self.issuer,
            "name": self.name,
            "algorithm": self.algorithm,
            "digits": self.digits,
            "period": self.period,
            "created": self.created,
        }
        if self.kind == "hotp":
            out.update(type="hotp", counter=self.counter)
        return out


@dataclass(frozen=True)
class Code:
    """One account's code as `code` gives it: `value` None with `error` (code, message)
    when the fob could not give it; `time` is the fob's second it was computed for;
    `seconds_left` how long a TOTP code stays valid; `counter` the HOTP counter used."""

    index: int
    issuer: str
    name: str
    value: str | None
    digits: int = 6
    kind: str = "totp"
    period: int | None = None
    seconds_left: int | None = None
    counter: int | None = None
    error: tuple[str, str] | None = None
    time: int | None = None

    @property
    def label(self) -> str:
        return "%s:%s" % (self.issuer, self.name) if self.issuer else self.name

    @classmethod
    def from_reply(cls, entry: Mapping[str, Any], time: int | None = None) -> Code:
        err = entry.get("error")
        error = None
        if isinstance(err, dict):
            error = (str(err.get("code") or "error"), str(err.get("message") or ""))
        value = entry.get("code")
        return cls(
            index=_int(entry.get("index"), 0) or 0,
            issuer=str(entry.get("issuer") or ""),
            name=str(entry.get("name") or ""),
            value=str(value) if isinstance(value, str) and value else None,
            digits=_int(entry.get("digits"), 6) or 6,
            kind="hotp" if entry.get("type") == "hotp" else "totp",
            period=_int(entry.get("period")),
            seconds_left=_int(entry.get("seconds_left")),
            counter=_int(entry.get("counter")),
            error=error,
            time=time,
        )

    def to_json(self) -> dict[str, Any]:
        """The members the fob's `code` gives for this account, and its `time`."""
        out: dict[str, Any] = {
            "index": self.index,
            "issuer": self.issuer,
            "name": self.name,
            "digits": self.digits,
        }
        if self.period is not None:
            out["period"] = self.period
        if self.seconds_left is not None:
            out["seconds_left"] = self.seconds_left
        if self.kind == "hotp":
            out["type"] = "hotp"
        if self.counter is not None:
            out["counter"] = self.counter
        out["code"] = self.value
        if self.error is not None:
            out["error"] = {"code": self.error[0], "message": self.error[1]}
        out["time"] = self.time
        return out


@dataclass
class _Session:
    """A login's session: requests carry a MAC under `key` over `counter` and the line."""

    key: bytes
    counter: int = 0


class FobClient:
    def __init__(self, transport: LineTransport, timeout: float = 5.0) -> None:
        self.transport = transport
        self.timeout = timeout
        # A reply still in flight from an earlier, interrupted session must not match.
        self._next_id = random.randint(1, 1 << 20)
        self.round_trips = 0
        # Called with the fob's prompt, and the check value this client expects the fob to
        # show beside it (None when the fob shows none), when a request waits for a press.
        self.on_prompt: Callable[[str, str | None], object] | None = None
        # Called with the number of wrong password tries since the last right login, when a
        # login finds any (someone else may be guessing).
        self.on_failed_tries: Callable[[int], object] | None = None
        # After a login: (key, fob nonce, host nonce), for a password change.
        self._login: tuple[bytes, bytes, bytes] | None = None
        # After a login: [session key, counter of the next request]; every request then
        # carries a MAC under it (docs/protocol.md, "Sessions").
        self._session: _Session | None = None
        # Gives the password when the fob asks for a login (None: no login is tried).
        self.password_provider: Callable[[FobClient], str | None] | None = None
        # What this client did, for a user who interrupts it (interruption()): the changing
        # requests the fob answered with ok, and the request whose reply has not come yet
        # (its command, whether it changes anything, whether the fob asked its holder).
        self.changed: builtins.list[str] = []
        self._waiting: tuple[str, bool] | None = None
        self._asked = False

    @property
    def logged_in(self) -> bool:
        """True while this client holds a session (the fob may have ended it since)."""
        return self._session is not None

    @property
    def session(self) -> tuple[bytes, int] | None:
        """(session key, counter of the next request) while logged in: what the next
        request's MAC is made with (tests of the fob's checks forge and reorder with it)."""
        if self._session is None:
            return None
        return self._session.key, self._session.counter

    def close(self) -> None:
        """Log out (when logged in), then close the port."""
        if self._session is not None:
            try:
                self._request("logout", min(self.timeout, 2.0), {})
            except Exception:  # noqa: BLE001 - the fob ends the session on its own too
                pass
            self._session = None
            self._login = None
        self.transport.close()

    def __enter__(self) -> FobClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, cmd: str, timeout: float | None = None, check: str | None = None, **params: Any
    ) -> Reply:
        """Send one command; return the reply dict (ok true) or raise FobError.

        `check`: the check value (otpfob.check) the fob shows when it asks its holder
        about this request. When the fob wants a login first and a password_provider is
        set, logs in with the password it gives and sends the command again (the fob
        refused it before doing anything)."""
        try:
            return self._request(cmd, timeout, params, check)
        except FobError as e:
            if (
                e.code != "auth_required"
                or self.password_provider is None
                or cmd in ("auth_begin", "auth")
            ):
                raise
        password = self.password_provider(self)
        if password is None:
            raise FobError(
                "auth_required",
                "this fob is protected by a password: give "
                "--password, set OTPFOB_PASSWORD, or run interactively",
            )
        self.login(password)
        return self._request(cmd, timeout, params, check)

    def _request(
        self,
        cmd: str,
        timeout: float | None,
        params: Mapping[str, Any],
        check: str | None = None,
    ) -> Reply:
        rid = self._next_id
        self._next_id += 1
        message: dict[str, Any] = {"id": rid, "cmd": cmd}
        message.update(params)
        line = encode(message)
        signed = self._session is not None
        if self._session is not None:
            line = auth.sign_line(self._session.key, self._session.counter, line)
            self._session.counter += 1
        changes = cmd in CHANGES and not params.get("stage")
        self._waiting, self._asked = (cmd, changes), False
        self.transport.write_line(line)
        self.round_trips += 1
        wanted = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wanted
        while True:
            left = deadline - time.monotonic()
            raw = self.transport.read_line(max(left, 0)) if left > 0 else None
            if raw is None:
                self._waiting = None
                raise FobError(
                    "timeout",
                    "no reply from the fob within %g s (is it the data "
                    "channel, and is the firmware running?)" % wanted,
                )
            try:
                reply = json.loads(raw)
            except ValueError:
                continue  # boot messages, a half line from before we connected
            if not isinstance(reply, dict) or reply.get("id") != rid:
                continue
            if reply.get("pending") == "presence":
                # The fob shows what it is about to do and waits for its button; its own
                # timeout decides, so wait for the final answer a little longer than that.
                self._asked = True
                wait = reply.get("timeout")
                wait = wait if isinstance(wait, (int, float)) and 0 < wait < 600 else 30
                deadline = max(deadline, time.monotonic() + wait + 5)
                wanted = max(wanted, wait + 5)
                if self.on_prompt is not None:
                    self.on_prompt(
                        str(reply.get("prompt") or ""), check if reply.get("check") else None
                    )
                continue
            self._waiting = None
            if reply.get("ok") is True:
                if changes:
                    self.changed.append(cmd)
                return reply
            error = reply.get("error")
            if not isinstance(error, dict):
                error = {"message": str(error) if error else "the fob refused %s" % cmd}
            if signed and error.get("code") == "auth_required":
                # The fob's session ended (idle, port closed, or another login): this one
                # is of no more use, and a new login replaces it.
                self._session = None
                self._login = None
            raise FobError(
                str(error.get("code") or "error"),
                str(error.get("message") or "the fob refused %s" % cmd),
            )

    def interruption(self) -> str:
        """What an interruption (Ctrl-C, a lost connection) left on the fob: the request in
        flight and the changes made before it, in words for the user."""
        if self._waiting is None:
            now = "no request was in flight"
        else:
            cmd, changes = self._waiting
            if not changes and cmd == "add_many":
                now = (
                    "the import's staged parts are dropped by the fob when the port closes "
                    "(nothing of them is stored)"
                )
            elif not changes:
                now = "it was reading (%s), which changes nothing" % cmd
            elif self._asked:
                now = (
                    "the fob's question about the %s ends when the port closes, so it is "
                    "not made (unless its holder had just said yes)" % cmd
                )
            else:
                now = (
                    "the fob may have made the %s it was handling: `otpfob list` (or "
                    "`otpfob info`) shows what it holds" % cmd
                )
        if self.changed:
            counts: dict[str, int] = {}
            for cmd in self.changed:
                counts[cmd] = counts.get(cmd, 0) + 1
            done = "changed before it: %s" % ", ".join(
                "%s ×%d" % (c, n) if n > 1 else c for c, n in counts.items()
            )
        else:
            done = "nothing was changed on the fob before it"
        return "%s; %s" % (now, done)

    # --- one method per command ---------------------------------------------------------

    def hello(self) -> Reply:
        return self.request("hello")

    def info(self) -> Reply:
        return self.request("info")

    def time_get(self) -> Reply:
        return self.request("time_get")

    def time_set(self, epoch: float, force: bool = False) -> Reply:
        """Set the clock. Without a press the fob lets its clock move 120 s in all between
        pressed sets (a sync moves it by milliseconds); a larger move, or one while its
        clock is not set, waits for a press on the fob, and the fob then adds the time
        the press took. Going back more than 30 s before the latest time the fob has seen
        also needs force."""
        if force:
            return self.request("time_set", time=int(epoch), force=True)
        return self.request("time_set", time=int(epoch))

    def aging_get(self) -> Reply:
        return self.request("aging_get")

    def aging_set(self, aging: int) -> Reply:
        """Trim the clock's rate; waits for a press on the fob."""
        return self.request("aging_set", aging=int(aging))

    def add(
        self,
        account: Account,
        overwrite: bool = False,
        strips: Strips | None = None,
        max_line: int = MAX_LINE,
    ) -> Reply:
        """Store one account; the reply carries its code at the fob's time (`code`,
        `time`), so the add can be checked without asking for a code. `strips`: {text:
        strip bytes} of its issuer and name (otpfob.labels), sent with it, or ahead of it
        in a staged batch when they do not fit its line."""
        params = account_fields(account)
        params["overwrite"] = bool(overwrite)
        return self._with_strips(
            "add",
            params,
            _own(strips, account.issuer, account.name),
            max_line,
            check=checks.text(checks.accounts([account])),
        )

    def _with_strips(
        self, cmd: str, params: dict[str, Any], strips: Strips, max_line: int, **kw: Any
    ) -> Reply:
        # A request with its label strips: in its own line when they fit, else staged
        # first (add_many parts that carry only strips), the batch ended after it.
        if not strips:
            return self.request(cmd, **params, **kw)
        items = [{"text": t, "data": b64(d)} for t, d in strips.items()]
        line = len(encode(dict(params, id=1 << 64, cmd=cmd, strips=items))) + auth.MAC_TAIL
        if line <= max_line:
            return self.request(cmd, strips=items, **params, **kw)
        token = secrets.token_hex(16)
        try:
            for n, (_, pieces) in enumerate(split_parts([], strips, False, max_line)):
                self.request(
                    "add_many", accounts=[], strips=pieces, part=n, batch=token, stage=True
                )
            return self.request(cmd, **params, **kw)
        finally:
            try:
                self.request("abort", batch=token)
            except FobError:
                pass

    def add_many(
        self, accounts: Sequence[Account], overwrite: bool = False, strips: Strips | None = None
    ) -> Reply:
        if strips:
            return self.add_staged(accounts, overwrite, strips=strips)[1]
        return self.request(
            "add_many",
            accounts=[account_fields(a) for a in accounts],
            overwrite=bool(overwrite),
            timeout=max(self.timeout, 30),
            check=checks.text(checks.accounts(accounts)),
        )

    def add_staged(
        self,
        accounts: Sequence[Account],
        overwrite: bool = False,
        max_line: int = MAX_LINE,
        strips: Strips | None = None,
        batch_max: int | None = None,
    ) -> tuple[int, Reply]:
        """Store `accounts` in batches of at most `batch_max` (the fob's
        limits.batch_max; None: one batch), each as add_batch stores it: one question,
        one check value and one flash write a batch. Returns (parts sent, the replies
        summed: added, replaced, indexes, warnings). A failure in a later batch leaves the
        earlier ones stored: the FobError then carries `stored`, how many accounts were.
        """
        size = batch_max or len(accounts) or 1
        total = 0
        out: Reply = {"added": 0, "replaced": 0, "indexes": [], "warnings": []}
        for start in range(0, max(len(accounts), 1), size):
            try:
                parts, reply = self.add_batch(
                    accounts[start : start + size], overwrite, max_line, strips
                )
            except FobError as exc:
                exc.stored = out["added"] + out["replaced"]
                exc.offset = start
                raise
            total += parts
            for key in ("added", "replaced"):
                out[key] += reply.get(key, 0)
            out["indexes"] += reply.get("indexes") or []
            out["warnings"] += reply.get("warnings") or []
        return total, out

    def add_batch(
        self,
        accounts: Sequence[Account],
        overwrite: bool = False,
        max_line: int = MAX_LINE,
        strips: Strips | None = None,
    ) -> tuple[int, Reply]:
        """Store `accounts` as one all-or-nothing batch with one flash write on the fob.

        The accounts go in as few `add_many` parts as the fob's line limit allows; the fob
        checks and holds every part but the last in RAM and writes all of them at the last
        one. Returns (number of parts, the last reply with `warnings` gathered from every
        part). On any failure nothing is stored: the fob drops the batch, and an `abort`
        is sent in case it still holds one (a part whose reply never came). `strips`:
        {text: strip bytes} of the accounts' issuers and names (otpfob.labels), sent in
        the parts before or with the first account that has the text.
        """
        parts = split_parts(accounts, strips or {}, overwrite, max_line)
        warnings: list[Any] = []
        reply: Reply = {}
        # The batch is this client's: only parts carrying its token (never sent back by
        # the fob) continue it.
        token = secrets.token_hex(16)
        check = checks.text(checks.accounts(accounts))
        try:
            for n, (part, pieces) in enumerate(parts):
                extra = {"strips": pieces} if pieces else {}
                reply = self.request(
                    "add_many",
                    accounts=[account_fields(a) for a in part],
                    overwrite=bool(overwrite),
                    part=n,
                    batch=token,
                    stage=n < len(parts) - 1,
                    timeout=max(self.timeout, 30),
                    check=check,
                    **extra,
                )
                warnings.extend(reply.get("warnings") or ())
        except FobError:
            try:
                self.request("abort", batch=token)
            except FobError:
                pass
            raise
        reply["warnings"] = warnings
        return len(parts), reply

    def list(self) -> Reply:
        return self.request("list")

    def credentials(self) -> builtins.list[Credential]:
        """The fob's accounts, in its order."""
        items = self.list().get("accounts")
        return [Credential.from_reply(e) for e in items or () if isinstance(e, dict)]

    def codes(self, index: int | None = None) -> builtins.list[Code]:
        """The codes of every account (one press on the fob for all, unless its holder
        turned usb_codes on), or of the account at `index` (an HOTP account's next code,
        which moves its counter on)."""
        reply = self.code(index)
        at = _int(reply.get("time"))
        return [Code.from_reply(e, at) for e in reply.get("codes") or () if isinstance(e, dict)]

    def delete(
        self, index: int | None = None, issuer: str | None = None, name: str | None = None
    ) -> Reply:
        """Delete by index, or by issuer and name (safe even if the list changed meanwhile)."""
        if name is not None:
            return self.request("delete", issuer=issuer or "", name=name)
        if index is None:
            raise ValueError("delete needs an index, or a name (and issuer)")
        return self.request("delete", index=int(index))

    def rename(
        self,
        index: int,
        name: str,
        issuer: str | None = None,
        strips: Strips | None = None,
        max_line: int = MAX_LINE,
    ) -> Reply:
        """Waits for a press on the fob. `strips`: {text: strip bytes} of the new name and
        issuer (otpfob.labels)."""
        params: dict[str, Any] = {"index": int(index), "name": name}
        if issuer is not None:
            params["issuer"] = issuer
        return self._with_strips("rename", params, _own(strips, issuer, name), max_line)

    def move(self, index: int, to: int) -> Reply:
        """Waits for a press on the fob (unless `to` is where it is)."""
        return self.request("move", index=int(index), to=int(to))

    def code(self, index: int | None = None) -> Reply:
        if index is None:
            return self.request("code", all=True, timeout=max(self.timeout, 20))
        return self.request("code", index=int(index))

    def reset(self) -> Reply:
        return self.request("reset", confirm=True, timeout=max(self.timeout, 30))

    def selftest(self) -> Reply:
        return self.request("selftest", timeout=max(self.timeout, 30))

    # --- the management password (auth.py) ---------------------------------------------

    def login(self, password: str) -> Reply:
        """Prove the password to the fob and check that the fob knows it too."""
        auth.check_password(password)
        # A session this client may still hold is stale or about to be replaced: the
        # login itself goes unsigned.
        self._session = None
        self._login = None
        reply: Reply = {}
        key = fob_nonce = host_nonce = b""
        for attempt in range(3):
            # A fob that stopped the logins after wrong tries asks its holder first.
            begin = self.request("auth_begin", timeout=max(self.timeout, 40))
            fob_nonce = bytes.fromhex(begin["challenge"])
            key = auth.derive_key(password, bytes.fromhex(begin["salt"]), begin["iterations"])
            host_nonce = auth.new_nonce()
            try:
                reply = self.request(
                    "auth",
                    challenge=host_nonce.hex(),
                    fob_challenge=fob_nonce.hex(),
                    response=auth.host_proof(key, fob_nonce, host_nonce).hex(),
                )
                break
            except FobError as e:
                # Another program asked for a challenge meanwhile: nothing was counted.
                if e.code != "no_challenge" or attempt == 2:
                    raise
        if not auth.fob_proof_ok(key, fob_nonce, host_nonce, bytes.fromhex(reply["response"])):
            raise FobError(
                "not_authentic",
                "the fob accepted the password but could not "
                "prove it knows it: this is not the fob it claims to be",
            )
        self._login = (key, fob_nonce, host_nonce)
        self._session = _Session(auth.session_key(key, fob_nonce, host_nonce))
        failed = reply.get("failed")
        if isinstance(failed, int) and failed > 0 and self.on_failed_tries is not None:
            self.on_failed_tries(failed)
        return reply

    def logout(self) -> Reply:
        """End this client's session (a no-op reply when it has none)."""
        try:
            return self._request("logout", None, {})
        except FobError as e:
            if e.code != "auth_required":
                raise
            return {"logged_out": False}
        finally:
            self._session = None
            self._login = None

    def password_set(self, password: str, iterations: int = auth.ITERATIONS) -> Reply:
        """Set the first password, or change it after login(); needs a press on the fob."""
        salt = auth.new_salt()
        key = auth.derive_key(password, salt, iterations)
        params: dict[str, Any] = {"salt": salt.hex(), "iterations": int(iterations)}
        if self._login is not None:
            current, fob_nonce, host_nonce = self._login
            params["wrapped"] = auth.wrap(current, fob_nonce, host_nonce, key).hex()
        else:
            params["key"] = key.hex()
        reply = self.request("password_set", check=checks.text(checks.password(key)), **params)
        if self._login is not None:
            self._login = (key, self._login[1], self._login[2])
        return reply

    def setup(
        self,
        epoch: int | None = None,
        password: str | None = None,
        accounts: Sequence[Account] = (),
        iterations: int = auth.ITERATIONS,
        force: bool = False,
    ) -> Reply:
        """A fresh fob's clock, first password and first accounts under one press (the fob
        refuses with not_fresh once it has a password or an account; `takes_setup` says
        whether its firmware knows the request). The clock is set as a pressed time_set
        (the time the press took added); the reply carries time_set's, password_set's
        and add_many's members, and `codes`: each account's code at the fob's time.
        `epoch` None: this computer's time, the request timed as `time set` times its
        (otpfob.calibration.timed_set) once the password's key is derived."""
        params: dict[str, Any] = {}
        if force:
            params["force"] = True
        key = None
        if password is not None:
            salt = auth.new_salt()
            key = auth.derive_key(password, salt, iterations)
            params.update(salt=salt.hex(), iterations=int(iterations), key=key.hex())
        params["accounts"] = [account_fields(a) for a in accounts]
        replies: builtins.list[Reply] = []

        def send(second: int) -> None:
            replies.append(
                self.request(
                    "setup",
                    timeout=max(self.timeout, 40),
                    check=checks.text(checks.setup(second, key, accounts)),
                    time=second,
                    **params,
                )
            )

        if epoch is None:
            from otpfob.calibration import timed_set

            timed_set(self, send=send)
        else:
            send(int(epoch))
        return replies[0]

    def password_clear(self) -> Reply:
        reply = self.request("password_clear")
        self._login = None
        return reply

    # --- the fob's own settings ----------------------------------------------------------

    def settings_get(self) -> Reply:
        return self.request("settings_get")

    def settings_set(self, **settings: Any) -> Reply:
        """Change settings by name (privacy, idle_timeout, typing, layout, ...). Turning
        privacy off, typing on or add_presence off waits for a press on the fob."""
        return self.request("settings_set", **settings)


def identify(port: str, timeout: float = 2.0) -> Reply:
    """The `hello` of the fob on `port` (a path or pyserial URL), the port closed again:
    what `otpfob devices` shows and `--device SERIAL` looks for."""
    from otpfob.transport import SerialTransport, open_port

    with FobClient(SerialTransport(open_port(port)), timeout=timeout) as client:
        return client.hello()


def account_fields(account: Account) -> dict[str, Any]:
    """The wire form of an account: the secret goes in base32, the fob's only input for it."""
    from .otpauth import encode_secret

    fields = {
        "name": account.name,
        "issuer": account.issuer,
        "secret": encode_secret(account.secret),
        "algorithm": account.algorithm,
        "digits": account.digits,
        "period": account.period,
    }
    fields.update(hotp_fields(account))
    return fields


def hotp_fields(account: Account) -> dict[str, Any]:
    """The members an HOTP account adds to the wire form (protocol 2: "type": "hotp" and
    its "counter"); none for a time-based account, so TOTP requests stay as they were."""
    if getattr(account, "kind", "totp") != "hotp":
        return {}
    return {"type": "hotp", "counter": int(account.counter)}


def takes_hotp(info: object) -> bool:
    """True when the fob's `info` lists "hotp" in "types": only then may a host send HOTP
    accounts."""
    types = info.get("types") if isinstance(info, dict) else None
    return isinstance(types, list) and "hotp" in types


def b64(data: bytes | bytearray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _own(strips: Strips | None, *texts: str | None) -> dict[str, bytes]:
    """The strips of `texts` among `strips` ({text: bytes})."""
    if not strips:
        return {}
    return {t: strips[t] for t in texts if t and t in strips}


def takes_setup(info: object) -> bool:
    """True when the fob's `hello`/`info` lists "setup" among its capabilities: its
    firmware takes a fresh fob's clock, password and accounts under one press."""
    caps = info.get("capabilities") if isinstance(info, dict) else None
    return isinstance(caps, list) and "setup" in caps


def takes_strips(info: object) -> bool:
    """True when the fob draws label strips (its `limits` give strip_height 16)."""
    limits = info.get("limits") if isinstance(info, dict) else None
    return isinstance(limits, dict) and limits.get("strip_height") == 16


def split_batches(
    accounts: Sequence[Account], overwrite: bool = False, max_line: int = MAX_LINE
) -> list[list[Account]]:
    """Group accounts so that every add_many request line fits in `max_line` bytes."""
    return [part for part, _ in split_parts(accounts, {}, overwrite, max_line)]


# Smallest piece of a strip worth a place in a part that has other things (bytes).
_PIECE_MIN = 96


def split_parts(
    accounts: Iterable[Account], strips: Strips, overwrite: bool = False, max_line: int = MAX_LINE
) -> list[tuple[list[Account], list[dict[str, Any]]]]:
    """The parts of a staged add_many: [(accounts, strip pieces)], each line within
    `max_line` bytes. A text's strip ({text: bytes}) goes before or with the first account
    that has the text, cut into pieces ("at", "size") where one line cannot hold it."""
    # The envelope with the longest id this client can produce and the batch fields.
    # A logged-in client's MAC member counts too.
    empty = len(
        encode(
            {
                "id": 1 << 64,
                "cmd": "add_many",
                "accounts": [],
                "overwrite": bool(overwrite),
                "part": 99999,
                "stage": False,
                "batch": "0" * 32,
                "strips": [],
            }
        )
    )
    empty += auth.MAC_TAIL
    parts: list[tuple[list[Account], list[dict[str, Any]]]] = []
    cur_accounts: list[Account] = []
    cur_pieces: list[dict[str, Any]] = []
    size = empty
    sent: set[str] = set()

    def flush() -> None:
        nonlocal cur_accounts, cur_pieces, size
        parts.append((cur_accounts, cur_pieces))
        cur_accounts, cur_pieces = [], []
        size = empty

    def send(text: str) -> None:
        nonlocal size
        data = bytes(strips[text])
        at = 0
        while at < len(data):
            head = len(encode({"text": text, "data": "", "at": at, "size": len(data)})) + 1
            room = (max_line - size - head) // 4 * 3
            if room < min(_PIECE_MIN, len(data) - at):
                if not cur_accounts and not cur_pieces:
                    raise FobError(
                        "bad_argument", "the label %r is too long for one request" % text
                    )
                flush()
                continue
            n = min(room, len(data) - at)
            piece: dict[str, Any] = {"text": text, "data": b64(data[at : at + n])}
            if n < len(data):
                piece.update(at=at, size=len(data))
            cur_pieces.append(piece)
            size += len(encode(piece)) + 1
            at += n

    for account in accounts:
        for text in (account.issuer, account.name):
            if text in strips and text not in sent:
                sent.add(text)
                send(text)
        item = len(encode(account_fields(account))) + 1  # the comma
        if empty + item > max_line:
            raise FobError(
                "bad_argument", "account %s is too long for one request" % (account.label,)
            )
        if size + item > max_line:
            flush()
        cur_accounts.append(account)
        size += item
    for text in strips:
        if text not in sent and not accounts:
            sent.add(text)
            send(text)
    if cur_accounts or cur_pieces:
        flush()
    return parts
