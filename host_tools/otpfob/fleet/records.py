"""The two files of a fleet run, written so that a run can be interrupted anywhere and
simply run again: the output file with the secrets (the Entra ID CSV, ``SecretsCsv``, or a
PSKC container, ``SecretsPskc``) and the manifest (``Manifest``: per fob serial the user,
the issuer and how far its run got; no secrets).
"""

import base64
import csv
import io
import json
import os
import stat
import threading
import time
from pathlib import Path

from .inputs import FleetError

ENTRA_HEADER = ("upn", "serial number", "secret key", "time interval", "manufacturer", "model")
MANUFACTURER = "otpfob"
PERIOD = 30  # seconds; Entra ID takes 30 or 60
MANIFEST_VERSION = 1


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
        from ..importers import ImportFileError, pskc

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
        from ..importers import pskc

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


def manifest_path(out):
    out = Path(out)
    return out.with_name(out.name + ".manifest.json")
