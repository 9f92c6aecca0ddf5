"""Text files as people's tools save them: the encoding and the CSV delimiter.

Spreadsheets and Windows tools write UTF-16 ("Unicode text"), Latin-1 and `;`-separated
CSV (where the decimal mark is a comma); reading them, or naming what they are, saves an
admin a round of guessing.
"""

import csv


class TextFileError(Exception):
    pass


def decode(data, where):
    """(text, encoding name) of a file's bytes: UTF-16 with a byte order mark, UTF-8 (with or
    without one), else Latin-1; TextFileError for binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise TextFileError(
                "%s starts as UTF-16 text but is not; save it as UTF-8" % where
            ) from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise TextFileError(
            "%s is not a text file (binary data; UTF-16 text needs its byte order mark)" % where
        )
    return data.decode("latin-1"), "Latin-1"


def sniff_delimiter(header):
    """The delimiter a CSV's first line uses: `,`, `;` or a tab (`,` when it has none)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","
