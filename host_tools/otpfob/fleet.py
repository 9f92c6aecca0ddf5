"""Fleet provisioning: one fob per user, a fresh secret on each, and a file for the OTP
server: the CSV Entra ID imports, or PSKC (RFC 6030) for privacyIDEA, LinOTP and others.

`otpfob fleet provision --users users.csv --issuer NAME --out entra.csv` takes the users of a
CSV (its `upn` column) in order and gives each the next fob: the ones named with `--fob`, or
else every fob plugged in while it runs (several at once on a hub, each in its own thread).
Per fob: a random 160-bit secret from `secrets`, the clock set from this computer, the
management password set (`--password-file`), the account `ISSUER:UPN` added, and the fob's
code compared with this computer's own TOTP of the secret. Only then is a row appended to
the output file: the CSV Microsoft Entra ID imports for OATH hardware tokens
(`--format entra-csv`, the default) or a PSKC key container whose secrets are encrypted
with a password or a pre-shared key (`--format pskc`; otpfob.importers.pskc writes it).

Two files, written so that a run can be interrupted anywhere and simply run again:

- The output CSV holds the secrets and nothing else does. It is created with mode 0600
  (O_CREAT|O_EXCL, never through an existing file), reopened by a later run only as itself
  (O_NOFOLLOW, a regular file, never a link), and each row is fsynced as it is appended.
- The manifest (`OUT.manifest.json`) holds no secrets: per fob serial the user, the issuer,
  the state and the time. A fob is marked `started` before anything on it changes and `done`
  after its CSV row is on disk. A `done` fob is never touched again; a `started` fob (an
  interrupted or failed run) is redone: the account that run added is deleted and a new one
  with a new secret is added. Rows of the CSV for fobs that are not `done` are dropped when
  the run starts, so the CSV only ever holds secrets the fobs really have.
"""

import base64
import csv
import io
import json
import os
import secrets
import stat
import threading
import time
from pathlib import Path

import click

from .errors import OtpfobError

ENTRA_HEADER = ("upn", "serial number", "secret key", "time interval", "manufacturer", "model")
MANUFACTURER = "otpfob"
PERIOD = 30  # seconds; Entra ID takes 30 or 60
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 block's natural key size (RFC 4226)
POLL_SECONDS = 0.5  # how often the port list is read while waiting for fobs
MANIFEST_VERSION = 1


class FleetError(OtpfobError):
    """A problem with the inputs or files (not with one fob): the run stops."""


# --- inputs -----------------------------------------------------------------------------


def read_users(path):
    """The `upn` column of a CSV, in order; blank rows skipped, duplicates refused."""
    import io

    from .otpauth import OtpauthError, check_label
    from .textfile import TextFileError, decode, sniff_delimiter

    try:
        with open(path, "rb") as f:
            text, _ = decode(f.read(), path)
    except OSError as exc:
        raise FleetError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    except TextFileError as exc:
        raise FleetError(str(exc)) from None
    # Spreadsheets in many locales save `;`-separated CSV, and Windows tools UTF-16.
    reader = csv.DictReader(
        io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.split("\n", 1)[0])
    )
    try:
        column = next((c for c in reader.fieldnames or () if c.strip().lower() == "upn"), None)
        if column is None:
            raise FleetError(
                "%s has no upn column (the first line names the columns, "
                "separated by commas or semicolons)" % path
            )
        users = []
        seen = {}
        for row in reader:
            upn = (row.get(column) or "").strip()
            if not upn:
                continue
            where = "%s line %d" % (path, reader.line_num)
            try:
                check_label("upn", upn)
            except OtpauthError as exc:
                raise FleetError("%s: %s" % (where, exc)) from None
            # Entra ID matches UPNs case-insensitively; two rows would be two tokens.
            if upn.lower() in seen:
                raise FleetError("%s: %s is already on line %d" % (where, upn, seen[upn.lower()]))
            seen[upn.lower()] = reader.line_num
            users.append(upn)
    except csv.Error as exc:
        raise FleetError("%s is not a CSV file: %s" % (path, exc)) from None
    return users


def read_password(path):
    """The first line of a file: the management password to give every fob."""
    try:
        with open(path, encoding="utf-8") as f:
            password = f.readline().rstrip("\r\n")
    except OSError as exc:
        raise FleetError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    if not password:
        raise FleetError("%s: the first line (the password) is empty" % path)
    return password


# --- files ------------------------------------------------------------------------------


def write_atomic(path, data, mode=0o600):
    """Replace `path` with `data` all at once: a reader sees the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(".%s.%d.tmp" % (path.name, os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder):
    # The rename itself is durable only once the folder is synced (POSIX; not on Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Manifest:
    """Which fob serial went to which user, and how far: no secrets, rewritten atomically."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.fobs = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.fobs = dict(data["fobs"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise FleetError("cannot read the manifest %s: %s" % (self.path, exc)) from None

    def get(self, serial):
        with self.lock:
            entry = self.fobs.get(serial)
            return dict(entry) if entry else None

    def done(self):
        """{upn: serial} of every finished fob."""
        with self.lock:
            return {e["upn"]: s for s, e in self.fobs.items() if e.get("state") == "done"}

    def mark(self, serial, **fields):
        with self.lock:
            entry = dict(self.fobs.get(serial) or {})
            entry.update(fields)
            entry["time"] = int(time.time())
            self.fobs[serial] = entry
            self._save()

    def save(self):
        with self.lock:
            self._save()

    def _save(self):
        data = {"version": MANIFEST_VERSION, "fobs": self.fobs}
        write_atomic(
            self.path,
            (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"),
            mode=0o644,
        )


class SecretsCsv:
    """The output CSV. It holds the tokens' secrets, so it is only ever created with mode
    0600 and exclusively (never by following a link or reusing someone's file)."""

    def __init__(self, path, keep_serials):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.created = not self.path.exists()
        self.dropped = []
        if self.created:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._write(fd, _csv_line(ENTRA_HEADER))
        else:
            self._keep_only(set(keep_serials))
            fd = self._reopen()
        self.fd = fd

    def _reopen(self):
        # Never through a link someone put in its place since the last run, and only a
        # regular file: the secrets are appended to what is opened here.
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise FleetError(
                "%s cannot be reopened for the secrets (%s); it must be the run's own "
                "file, not a link: choose another --out" % (self.path, exc.strerror or exc)
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FleetError("%s is not a regular file; choose another --out" % self.path)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        return fd

    def _keep_only(self, keep):
        """Drop rows of fobs whose run did not finish: their secrets are not on any fob."""
        if self.path.is_symlink():
            raise FleetError(
                "%s is a link; the secrets go only into a file of the run's own: choose "
                "another --out" % self.path
            )
        with open(self.path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or tuple(c.strip().lower() for c in rows[0]) != ENTRA_HEADER:
            raise FleetError(
                "%s exists and is not an Entra ID token CSV; choose another --out" % self.path
            )
        kept = [rows[0]] + [r for r in rows[1:] if len(r) > 1 and r[1] in keep]
        self.dropped = [r[0] for r in rows[1:] if not (len(r) > 1 and r[1] in keep)]
        if self.dropped:
            write_atomic(self.path, b"".join(_csv_line(r) for r in kept), mode=0o600)

    @staticmethod
    def _write(fd, data):
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)

    def append(self, row):
        with self.lock:
            size = os.fstat(self.fd).st_size
            try:
                self._write(self.fd, _csv_line(row))
            except OSError:
                # A half-written row (disk full) would swallow the next fob's row.
                os.ftruncate(self.fd, size)
                raise

    def add_token(self, upn, serial, secret, model, issuer):
        self.append(entra_row(upn, serial, secret, model))

    def close(self):
        os.close(self.fd)


def _csv_line(fields):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(fields)
    return buf.getvalue().encode("utf-8")


class SecretsPskc:
    """The output as PSKC (RFC 6030): the whole document is rewritten atomically (mode
    0600) after each fob, its secrets encrypted under the password or pre-shared key. On a
    rerun the tokens of fobs that are not done are dropped, as from the CSV."""

    def __init__(self, path, keep_serials, password=None, key=None):
        from .importers import ImportFileError, pskc

        self.path = Path(path)
        self.password = password
        self.key = key
        self.lock = threading.Lock()
        self.created = not self.path.exists()
        self.dropped = []
        self.tokens = []
        if not self.created:
            try:
                found = pskc.read_tokens(self.path.read_bytes(), password, key)
            except (OSError, ImportFileError) as exc:
                raise FleetError(
                    "%s exists and cannot be read as this run's PSKC file (%s); "
                    "choose another --out" % (self.path, exc)
                ) from None
            keep = set(keep_serials)
            self.tokens = [t for t in found if t["serial"] in keep]
            self.dropped = [t["upn"] for t in found if t["serial"] not in keep]
        self._write()

    def _write(self):
        from .importers import pskc

        write_atomic(self.path, pskc.write(self.tokens, self.password, self.key), mode=0o600)

    def add_token(self, upn, serial, secret, model, issuer):
        with self.lock:
            self.tokens.append(
                {
                    "upn": upn,
                    "serial": serial,
                    "secret": secret,
                    "period": PERIOD,
                    "digits": 6,
                    "issuer": issuer,
                    "manufacturer": MANUFACTURER,
                    "model": model or "otpfob",
                }
            )
            try:
                self._write()
            except BaseException:
                self.tokens.pop()
                raise

    def close(self):
        pass


def entra_row(upn, serial, secret, model):
    """One token as Entra ID imports it: the secret in base32 without padding."""
    key = base64.b32encode(secret).decode("ascii").rstrip("=")
    return (upn, serial, key, str(PERIOD), MANUFACTURER, model or "otpfob")


# --- one fob ----------------------------------------------------------------------------


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
    from .calibration import timed_set

    timed_set(client)


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
        from .otpauth import check_label

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
        from .client import FobClient
        from .transport import connect

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
        from .client import FobError
        from .transport import TransportError

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
        """The steps that change the fob, in an order that a rerun can always finish."""
        from .client import FobError
        from .codecheck import added
        from .otpauth import Account

        say = self.reporter.status
        if info.get("password"):
            say(port, "logging in")
            client.login(self.password)
        # From here on the fob changes: a rerun must know to clean up after this run.
        self.manifest.mark(serial, upn=upn, issuer=self.issuer, state="started", port=port)
        say(port, "setting the clock")
        set_clock(client)
        if self.password is not None:
            if not info.get("password"):
                say(port, "setting the password")
                client.password_set(self.password)
                client.login(self.password)
            # One button press for the password is enough; the add is the admin's, logged in.
            client.settings_set(add_presence=False)
        if entry is not None:
            # An earlier run on this fob did not finish: remove what it added (only that).
            say(port, "removing the unfinished account")
            try:
                client.delete(issuer=entry.get("issuer") or "", name=entry["upn"])
            except FobError as exc:
                if exc.code != "not_found":
                    raise
        say(port, "adding %s" % upn)
        account = Account(upn, secrets.token_bytes(SECRET_BYTES), issuer=self.issuer, period=PERIOD)
        reply, ok, message = added(client, account)
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
        if self.password is not None:
            client.settings_set(add_presence=True)
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
        _join(self.threads)

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
        from .transport import find_data_ports, list_serial_ports

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
        _join(list(workers.values()))


def _join(threads):
    # Short waits keep the main thread able to take Ctrl-C.
    for t in threads:
        while t.is_alive():
            t.join(0.2)


def manifest_path(out):
    out = Path(out)
    return out.with_name(out.name + ".manifest.json")


# --- the command ------------------------------------------------------------------------


class RichReporter(Reporter):
    def __init__(self, progress, task):
        self.progress = progress
        self.task = task
        self.lines = {}

    def status(self, port, text):
        description = text if port is None else "%s: %s" % (port, text)
        self.progress.update(self.task, description=description)

    def finished(self, outcome):
        if outcome.result == "done":
            self.progress.advance(self.task)
            text = "fob %s: done for %s" % (outcome.serial, outcome.upn)
        else:
            text = "fob %s: %s: %s" % (
                outcome.serial or outcome.port,
                outcome.result,
                outcome.detail,
            )
        self.progress.console.print(text, markup=False)

    def say(self, text):
        self.progress.console.print("[bold]%s[/bold]" % text)


@click.group(name="fleet")
def fleet():
    """Provision many fobs for many users."""


@fleet.command(name="provision")
@click.option(
    "--users",
    "users_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV of users: a column named upn (other columns are ignored).",
)
@click.option("--issuer", required=True, help="Issuer shown on the fobs (your organisation).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the management password to set on each fob.",
)
@click.option(
    "--fob",
    "fobs",
    multiple=True,
    metavar="PORT|URL",
    help="A fob's port (repeat for several). Without it: every fob plugged in.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The file for the OTP server (holds the secrets; created with mode 0600).",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["entra-csv", "pskc"]),
    default="entra-csv",
    show_default=True,
    help="The CSV Entra ID imports, or PSKC (RFC 6030) for privacyIDEA, LinOTP "
    "and other OTP servers.",
)
@click.option(
    "--pskc-password-file",
    type=click.Path(dir_okay=False),
    help="With --format pskc: file whose first line is the password that "
    "encrypts the secrets (PBKDF2).",
)
@click.option(
    "--pskc-key-file",
    type=click.Path(dir_okay=False),
    help="With --format pskc: the pre-shared AES key (hex, or 16/24/32 bytes) "
    "that encrypts the secrets.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="Progress file for resuming [OUT.manifest.json].",
)
@click.option(
    "--force", is_flag=True, help="Also provision fobs that already hold accounts (they keep them)."
)
@click.pass_obj
def provision_command(
    state,
    users_file,
    issuer,
    password_file,
    fobs,
    out,
    out_format,
    pskc_password_file,
    pskc_key_file,
    manifest,
    force,
):
    """Give each user of USERS a fob with a new secret, and write the CSV Entra ID imports
    (or PSKC for other OTP servers).

    Rerunning with the same --out resumes: finished users and fobs are skipped, and a fob
    whose run was interrupted is redone.
    """
    as_json = bool(getattr(state, "json", False))
    timeout = getattr(state, "timeout", 5.0)
    try:
        users = read_users(users_file)
        if not users:
            raise FleetError("%s lists no users" % users_file)
        password = read_password(password_file) if password_file else None
        pskc_password = pskc_key = None
        if out_format == "pskc":
            if pskc_password_file and pskc_key_file:
                raise FleetError("give --pskc-password-file or --pskc-key-file, not both")
            if pskc_password_file:
                pskc_password = read_password(pskc_password_file)
            elif pskc_key_file:
                from .importers import ImportFileError
                from .importers.pskc import read_key

                try:
                    pskc_key = read_key(pskc_key_file)
                except ImportFileError as exc:
                    raise FleetError(str(exc)) from None
        elif pskc_password_file or pskc_key_file:
            raise FleetError("--pskc-password-file and --pskc-key-file go with --format pskc")
        run = Fleet(
            users,
            issuer,
            out,
            manifest=manifest,
            password=password,
            force=force,
            timeout=timeout,
            out_format=out_format,
            pskc_password=pskc_password,
            pskc_key=pskc_key,
        )
    except (FleetError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=as_json, highlight=False)
    for upn in run.csv.dropped:
        console.print("Dropped the unfinished row of %s from %s." % (upn, out))
    interrupted = False
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("starting", total=len(users), completed=run.done_count())
            run.reporter = RichReporter(progress, task)
            stop = threading.Event()
            try:
                if fobs:
                    run.run_ports(fobs)
                else:
                    run.run_discovery(stop=stop)
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
                console.print(
                    "Stopping: finishing the fobs in progress (Ctrl-C again to "
                    "abandon them; a rerun redoes them)."
                )
                _join(run.threads)
    finally:
        run.close()
    summary = _summary(run, out, interrupted)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(console, run)
    if summary["done"] or not run.csv.created:
        where = (
            "upload it in the Microsoft Entra admin center (OATH tokens)"
            if out_format == "entra-csv"
            else "load it into the OTP server (privacyIDEA: Tokens > Import tokens, PSKC)"
        )
        console.print(
            "[bold]%s holds the tokens' secret keys[/bold] (mode 0600; nothing else "
            "stores them): %s, then delete it." % (out, where)
        )
    failed = sum(1 for o in run.outcomes if o.result == "failed")
    if failed:
        raise click.ClickException(
            "%d %s failed (listed above); rerun with the same --out "
            "to retry" % (failed, "fob" if failed == 1 else "fobs")
        )


def _summary(run, out, interrupted):
    return {
        "done": sum(o.result == "done" for o in run.outcomes),
        "fobs": [o.as_dict() for o in run.results()],
        "already_done": run.already,
        "pending": list(run.pending),
        "out": str(out),
        "manifest": str(run.manifest.path),
        "interrupted": interrupted,
    }


def _print_summary(console, run):
    from rich.table import Table

    table = Table(title="Fleet provisioning")
    table.add_column("Fob")
    table.add_column("Serial")
    table.add_column("User")
    table.add_column("Result")
    table.add_column("Detail")
    style = {"done": "green", "skipped": "yellow", "failed": "red"}
    for o in run.results():
        table.add_row(
            o.port, o.serial or "", o.upn or "", "[%s]%s[/]" % (style[o.result], o.result), o.detail
        )
    if run.outcomes:
        console.print(table)
    else:
        console.print("No fob was provisioned.")
    if run.already:
        n = len(run.already)
        console.print(
            "%d %s done in an earlier run (skipped)." % (n, "user was" if n == 1 else "users were")
        )
    if run.pending:
        n = len(run.pending)
        console.print(
            "%d %s no fob: %s"
            % (n, "user still has" if n == 1 else "users still have", ", ".join(run.pending))
        )
