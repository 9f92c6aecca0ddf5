"""Ente Auth exports (Settings > Data > Export codes). "Plain text" is a list of otpauth://
URIs (with Ente's own codeDisplay parameter, which is ignored), read as such. The
encrypted export ({"kdfParams", "encryptedData", "encryptionNonce"}) uses libsodium's
XChaCha20-Poly1305 secret stream, which the `cryptography` package does not offer: such a
file gets an error that says which export to make instead."""

from . import uri_list
from .base import ImportFileError

NAME = "ente"
TITLE = "Ente Auth export (plain text)"


def _encrypted(doc):
    return isinstance(doc, dict) and "encryptedData" in doc and "kdfParams" in doc


def detect(source):
    return _encrypted(source.json)


def read(source, found):
    if _encrypted(source.json):
        raise ImportFileError(
            "%s is an encrypted Ente Auth export, which otpfob cannot open; "
            "in Ente Auth choose Settings > Data > Export codes > Plain text" % source.where
        )
    uri_list.read(source, found)
