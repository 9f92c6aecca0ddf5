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

The package: the inputs (inputs.py), the two files (records.py), the run and each fob's
steps (provisioning.py), the click command and what it prints (command.py). Every name
other modules and tests use is here.
"""

from .command import fleet, provision_command
from .inputs import FleetError, read_password, read_users
from .provisioning import (
    POLL_SECONDS,
    SECRET_BYTES,
    Fleet,
    Outcome,
    PresenceWatch,
    Reporter,
    join_threads,
    set_clock,
)
from .records import (
    ENTRA_HEADER,
    MANIFEST_VERSION,
    MANUFACTURER,
    PERIOD,
    Manifest,
    SecretsCsv,
    SecretsPskc,
    entra_row,
    manifest_path,
    write_atomic,
)

__all__ = [
    "ENTRA_HEADER",
    "MANIFEST_VERSION",
    "MANUFACTURER",
    "PERIOD",
    "POLL_SECONDS",
    "SECRET_BYTES",
    "Fleet",
    "FleetError",
    "Manifest",
    "Outcome",
    "PresenceWatch",
    "Reporter",
    "SecretsCsv",
    "SecretsPskc",
    "entra_row",
    "fleet",
    "join_threads",
    "manifest_path",
    "provision_command",
    "read_password",
    "read_users",
    "set_clock",
    "write_atomic",
]
