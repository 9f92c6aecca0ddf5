"""The CSV Microsoft Entra ID imports for hardware OATH tokens (and `otpfob fleet
provision` writes): columns upn, serial number, secret key (base32), time interval (30 or
60), manufacturer, model. Each row becomes the account UPN, with the manufacturer as its
issuer (the format has no issuer column)."""

import csv
import io

from .base import ImportFileError, int_of, text_of

NAME = "entra-csv"
TITLE = "Microsoft Entra hardware OATH token CSV (as otpfob fleet writes)"

HEADER = ("upn", "serial number", "secret key", "time interval", "manufacturer", "model")


def _columns(line):
    from ..textfile import sniff_delimiter

    return [
        c.strip().lower() for c in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])
    ]


def detect(source):
    cols = _columns(source.first_line())
    return "upn" in cols and "secret key" in cols


def read(source, found):
    from ..textfile import sniff_delimiter

    text = (source.text or "").lstrip("\ufeff")
    reader = csv.DictReader(
        io.StringIO(text, newline=""), delimiter=sniff_delimiter(source.first_line())
    )
    if not reader.fieldnames or "secret key" not in [c.strip().lower() for c in reader.fieldnames]:
        raise ImportFileError('%s: not an Entra token CSV (no "secret key" column)' % source.where)
    try:
        for row in reader:
            row = {(k or "").strip().lower(): v for k, v in row.items()}
            upn = text_of(row.get("upn"))
            where = "%s line %d" % (source.where, reader.line_num)
            if not upn and not text_of(row.get("secret key")):
                continue
            try:
                found.add(
                    where,
                    upn,
                    text_of(row.get("secret key")).replace(" ", ""),
                    issuer=text_of(row.get("manufacturer")),
                    period=int_of(row.get("time interval"), 30),
                )
            except ValueError as exc:
                found.skip(upn, where, str(exc))
    except csv.Error as exc:
        raise ImportFileError("%s: not a readable CSV file (%s)" % (source.where, exc)) from None
