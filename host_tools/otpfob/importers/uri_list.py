"""Text files of otpauth:// URIs (one a line): Aegis's and Ente Auth's plain-text exports,
Authenticator Pro's URI list, what people write by hand; also steam:// secrets and Google
Authenticator export URIs (otpauth-migration://), whose parts are merged across files.

A line that cannot be used (an unsupported algorithm, a bad secret) is skipped with its
line number; the rest of the file still comes across."""

NAME = "otpauth"
TITLE = "a text file of otpauth:// URIs (Aegis, Ente Auth, Authenticator Pro plain text)"

SCHEMES = ("otpauth:", "otpauth-migration:", "steam://")


def lines(text):
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip().lstrip("\ufeff")
        if line and not line.startswith("#"):
            yield n, line


def detect(source):
    text = source.text
    if text is None:
        return False
    for _, line in lines(text):
        return line.lower().startswith(SCHEMES)
    return False


def read(source, found):
    for n, line in lines(source.text or ""):
        take(found, line, "%s line %d" % (source.where, n))


def take(found, text, where):
    """One URI (a line, a QR code's text, a command-line argument)."""
    from .. import migration

    if migration.is_migration_uri(text):
        try:
            found.export(migration.decode_uri(text), where)
        except migration.MigrationError as exc:
            found.skip("Google Authenticator export", where, str(exc))
        return
    found.uri(text, where)
