"""Provisioning a fob, the run's domain: ``Fleet`` takes the users still to do and gives
each the next fob (the ports named, or every fob plugged in, each in its own thread), and
per fob sets the clock and the password, adds the account with a fresh secret, checks its
code, and records the token (records.py) only then. What the admin sees goes through a
``Reporter``; the command (command.py) gives it a rich progress bar.
"""

import json
import secrets
import threading
from pathlib import Path

from .inputs import FleetError
from .records import PERIOD, Manifest, SecretsCsv, SecretsPskc, manifest_path

SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 block's natural key size (RFC 4226)
POLL_SECONDS = 0.5  # how often the port list is read while waiting for fobs


class PresenceWatch:
    """A transport wrapper that notices the fob's interim "press the button" line.

    The client skips interim lines; this sees them on the way past and calls `on_prompt`,
    so the admin is told which fob wants its button pressed.
    """

    def __init__(self, transport, on_prompt=None):
        self.transport = transport
        self.on_prompt = on_prompt

    def write_line(self, data):
        self.transport.write_line(data)

    def read_line(self, timeout):
        line = self.transport.read_line(timeout)
        if line and b'"pending"' in line and self.on_prompt is not None:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("pending") == "presence":
                self.on_prompt(message.get("prompt") or "", None)
        return line

    def close(self):
        self.transport.close()


def set_clock(client):
    """Set the fob's clock so that it ticks in step with this computer's (as `time set`)."""
    from ..calibration import timed_set

    timed_set(client)


def set_up(client, account, password=None):
    """A fresh fob's clock (timed as `set_clock`), password and `account` under one
    press; returns (reply, ok, message) as codecheck.added does, the reply with the
    account's `index`, `code` and the fob's `time`."""
    import time

    from ..codecheck import verify_code

    before = time.time()
    reply = dict(client.setup(password=password, accounts=[account]))
    after = time.time()
    reply["index"] = reply["indexes"][0]
    reply["code"] = reply["codes"][0]
    ok, message = verify_code(account, reply, before, after)
    return reply, ok, message


class Outcome:
    __slots__ = ("port", "serial", "upn", "result", "detail")

    def __init__(self, port, result, detail="", serial=None, upn=None):
        self.port = port
        self.result = result  # "done", "skipped" or "failed"
        self.detail = detail
        self.serial = serial
        self.upn = upn

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


class Reporter:
    """What a run tells its admin; the command's version draws a rich progress bar."""

    def status(self, port, text):
        pass

    def finished(self, outcome):
        pass

    def say(self, text):
        pass


class Fleet:
    """One provisioning run: the users still to do, the manifest, the output CSV."""

    def __init__(
        self,
        users,
        issuer,
        out,
        manifest=None,
        password=None,
        force=False,
        timeout=5.0,
        reporter=None,
        connect=None,
        out_format="entra-csv",
        pskc_password=None,
        pskc_key=None,
    ):
        from ..otpauth import check_label

        check_label("issuer", issuer)
        self.issuer = issuer
        self.password = password
        self.force = force
        self.timeout = timeout
        self.reporter = reporter or Reporter()
        self._connect = connect or self._open
        self.out = Path(out)
        self.manifest = Manifest(manifest or manifest_path(out))
        if self.out.exists() and not self.manifest.path.exists():
            raise FleetError(
                "%s exists but its manifest %s does not: it is not from an "
                "earlier run; choose another --out" % (out, self.manifest.path)
            )
        if not self.manifest.path.exists():
            # Before the CSV: an output file without a manifest is never one of ours.
            self.manifest.save()
        done = self.manifest.done()
        self.users = list(users)
        self.already = [u for u in self.users if u in done]
        self.pending = [u for u in self.users if u not in done]
        self.outcomes = []
        self._busy = set()  # serials being worked on now
        self.threads = []  # one per fob, so Ctrl-C can wait for them
        self.started = []  # their ports, in order: the summary's order
        self._lock = threading.Lock()
        if out_format == "pskc":
            if pskc_password is None and pskc_key is None:
                raise FleetError(
                    "a PSKC file carries the secrets: give --pskc-password-file "
                    "or --pskc-key-file to encrypt them"
                )
            self.csv = SecretsPskc(self.out, done.values(), pskc_password, pskc_key)
        elif out_format == "entra-csv":
            self.csv = SecretsCsv(self.out, done.values())
        else:
            raise FleetError("unknown output format %r (entra-csv or pskc)" % out_format)

    def close(self):
        self.csv.close()

    def results(self):
        """The outcomes in the order their fobs were taken (threads finish in any order)."""
        with self._lock:
            order = {}
            for n, port in enumerate(self.started):
                order.setdefault(port, n)
            return sorted(self.outcomes, key=lambda o: order.get(o.port, len(order)))

    # -- users -----------------------------------------------------------------------------
    def _take_user(self, prefer=None):
        with self._lock:
            if not self.pending:
                return None
            upn = prefer if prefer in self.pending else self.pending[0]
            self.pending.remove(upn)
            return upn

    def _give_back(self, upn):
        with self._lock:
            # Back in its place in the users file, so the order stays predictable.
            self.pending.append(upn)
            self.pending.sort(key=self.users.index)

    def all_done(self):
        with self._lock:
            return not self.pending and not self._busy

    def done_count(self):
        return len(self.manifest.done().keys() & set(self.users))

    # -- fobs ------------------------------------------------------------------------------
    def _open(self, port, on_prompt):
        from ..client import FobClient
        from ..transport import connect

        client = FobClient(connect(port), timeout=self.timeout)
        if hasattr(client, "on_prompt"):
            client.on_prompt = on_prompt
        else:
            client.transport = PresenceWatch(client.transport, on_prompt)
        return client

    def provision(self, port, turn=None):
        """Provision the fob at `port`; returns its Outcome (fob errors do not raise).

        `turn` is (event to wait for, event to set) around taking a user, so that fobs
        named in order get the users in order even though they run at once.
        """
        from ..client import FobError
        from ..transport import TransportError

        outcome = Outcome(port, "failed")
        turn = turn or (None, threading.Event())

        def on_prompt(prompt, check=None):
            shows = " (it shows check %s)" % check if check else ""
            self.reporter.say("hold A on fob %s to confirm%s" % (outcome.serial or port, shows))
            self.reporter.status(port, "waiting for the button")

        try:
            self.reporter.status(port, "connecting")
            client = self._connect(port, on_prompt)
            with client:
                self._provision(client, port, outcome, turn)
        except (FobError, TransportError, FleetError, OSError) as exc:
            outcome.result = "failed"
            outcome.detail = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not hide the other fobs' results
            outcome.result = "failed"
            outcome.detail = "internal error: %s: %s" % (type(exc).__name__, exc)
        finally:
            turn[1].set()
        with self._lock:
            self.outcomes.append(outcome)
        self.reporter.finished(outcome)
        return outcome

    def _provision(self, client, port, outcome, turn):
        info = client.info()
        serial = info.get("serial")
        if not serial:
            raise FleetError("the fob reports no serial number")
        outcome.serial = serial
        with self._lock:
            if serial in self._busy:
                outcome.result = "skipped"
                outcome.detail = "the same fob is being provisioned on another port"
                return
            self._busy.add(serial)
        try:
            entry = self.manifest.get(serial)
            if entry and entry.get("state") == "done":
                outcome.result, outcome.upn = "skipped", entry.get("upn")
                outcome.detail = "already provisioned for %s" % entry.get("upn")
                return
            if entry is None and info.get("accounts") and not self.force:
                raise FleetError(
                    "fob already has accounts (%d); --force provisions it "
                    "anyway and keeps them" % info["accounts"]
                )
            if info.get("password") and self.password is None:
                raise FleetError("the fob has a management password; give it with --password-file")
            if turn[0] is not None:
                turn[0].wait()
            upn = self._take_user(prefer=entry.get("upn") if entry else None)
            turn[1].set()
            if upn is None:
                outcome.result = "skipped"
                outcome.detail = "no users left"
                return
            outcome.upn = upn
            try:
                self._give(client, port, info, serial, entry, upn)
            except BaseException:
                self._give_back(upn)
                raise
            outcome.result = "done"
        finally:
            with self._lock:
                self._busy.discard(serial)

    def _give(self, client, port, info, serial, entry, upn):
        """The steps that change the fob, in an order that a rerun can always finish.

        A fresh fob (no password, no accounts) whose firmware knows `setup` is asked once:
        its clock, password and account under one question. Other fobs, and firmware
        without it, take the single requests: the clock set, the password and the add ask
        three times (twice without --password-file) on a fresh fob."""
        from ..client import FobError, takes_setup
        from ..codecheck import added
        from ..otpauth import Account

        say = self.reporter.status
        account = Account(upn, secrets.token_bytes(SECRET_BYTES), issuer=self.issuer, period=PERIOD)
        if not info.get("password") and not info.get("accounts") and takes_setup(info):
            # From here on the fob changes: a rerun must know to clean up after this run.
            self.manifest.mark(serial, upn=upn, issuer=self.issuer, state="started", port=port)
            say(
                port,
                "setting up the clock, %sand %s"
                % ("the password " if self.password is not None else "", upn),
            )
            reply, ok, message = set_up(client, account, self.password)
            if self.password is not None:
                client.login(self.password)
            self._record(client, port, info, serial, upn, account, reply, ok, message)
            return
        if info.get("password"):
            say(port, "logging in")
            client.login(self.password)
        # From here on the fob changes: a rerun must know to clean up after this run.
        self.manifest.mark(serial, upn=upn, issuer=self.issuer, state="started", port=port)
        say(port, "setting the clock")
        set_clock(client)
        if self.password is not None and not info.get("password"):
            say(port, "setting the password")
            client.password_set(self.password)
            client.login(self.password)
        if entry is not None:
            if self.password is not None:
                # Earlier versions turned adds' press off for the add; a run of theirs that
                # stopped half-way left it off. Turning it on asks no press.
                client.settings_set(add_presence=True)
            # An earlier run on this fob did not finish: remove what it added (only that).
            say(port, "removing the unfinished account")
            try:
                client.delete(issuer=entry.get("issuer") or "", name=entry["upn"])
            except FobError as exc:
                if exc.code != "not_found":
                    raise
        say(port, "adding %s" % upn)
        reply, ok, message = added(client, account)
        self._record(client, port, info, serial, upn, account, reply, ok, message)

    def _record(self, client, port, info, serial, upn, account, reply, ok, message):
        """The account checked on the fob (listed, its code this computer's), then its
        token recorded and the fob marked done."""
        index = reply.get("index")
        # The fob confirms the account, and its code matches this computer's own TOTP.
        listed = client.list()["accounts"]
        if not any(
            a.get("index", i) == index
            and a.get("name") == upn
            and (a.get("issuer") or "") == self.issuer
            for i, a in enumerate(listed)
        ):
            raise FleetError("the fob does not list %s:%s after adding it" % (self.issuer, upn))
        if ok is not True:
            raise FleetError("%s:%s was added, but %s" % (self.issuer, upn, message))
        self.csv.add_token(upn, serial, account.secret, info.get("board"), self.issuer)
        self.manifest.mark(serial, upn=upn, issuer=self.issuer, state="done", port=port)

    # -- runs ------------------------------------------------------------------------------
    def run_ports(self, ports, stop=None):
        """Provision the fobs at `ports`, all at once; returns when each is finished."""
        previous = None
        for port in ports:
            mine = threading.Event()
            self._start(port, (previous, mine))
            previous = mine
        join_threads(self.threads)

    def _start(self, port, turn=None):
        # Daemon threads: a second Ctrl-C ends the program even with a fob mid-way.
        t = threading.Thread(target=self.provision, args=(port, turn), daemon=True)
        self.threads.append(t)
        self.started.append(port)
        t.start()
        return t

    def run_discovery(self, list_ports=None, stop=None, poll=POLL_SECONDS):
        """Provision every fob plugged in, until all users are done or `stop` is set.

        A fob is taken when its data port appears; after it finishes, the port is looked at
        again only once it has gone (the fob was unplugged), so one can swap fobs on a hub.
        """
        from ..transport import find_data_ports, list_serial_ports

        list_ports = list_ports or list_serial_ports
        stop = stop or threading.Event()
        workers = {}
        waiting = False
        while not stop.is_set() and not self.all_done():
            devices = [p.device for p in find_data_ports(list_ports())]
            for device in devices:
                if device not in workers:
                    workers[device] = self._start(device)
            for device in [d for d, t in workers.items() if d not in devices and not t.is_alive()]:
                del workers[device]
            idle = not any(t.is_alive() for t in workers.values())
            if idle and not waiting:
                self.reporter.status(None, "waiting for fobs (plug them in; Ctrl-C stops)")
            waiting = idle
            stop.wait(poll)
        join_threads(list(workers.values()))


def join_threads(threads):
    # Short waits keep the main thread able to take Ctrl-C.
    for t in threads:
        while t.is_alive():
            t.join(0.2)
