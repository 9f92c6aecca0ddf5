"""Google Authenticator's "Transfer accounts" export: otpauth-migration:// URIs, one per QR
code (as text, or the QR codes themselves in screenshots). The parts of one export are
merged across every file of an import (migration.merge); HOTP entries keep their counter."""

from . import uri_list

NAME = "google"
TITLE = "Google Authenticator exports (otpauth-migration:// text or QR screenshots)"


def detect(source):
    text = source.text
    if text is None:
        return False
    return any(line.lower().startswith("otpauth-migration:") for _, line in uri_list.lines(text))


def read(source, found):
    uri_list.read(source, found)
