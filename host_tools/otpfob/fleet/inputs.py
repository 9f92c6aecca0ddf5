"""What a fleet run reads before it starts: the users CSV (its `upn` column) and the
one-line password files. FleetError, the error of a run's inputs and files, lives here: this
module imports nothing else of the fleet package.
"""

import csv
import io

from ..errors import OtpfobError


class FleetError(OtpfobError):
    """A problem with the inputs or files (not with one fob): the run stops."""


def read_users(path):
    """The `upn` column of a CSV, in order; blank rows skipped, duplicates refused."""
    from ..otpauth import OtpauthError, check_label
    from ..textfile import TextFileError, decode, sniff_delimiter

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
