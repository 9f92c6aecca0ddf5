"""otpauth:// URIs (the Key URI Format every authenticator app reads) and base32 secrets.

Errors never repeat the secret: at most the single offending character and its position.
"""

from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import OtpfobError

ALGORITHMS = ("SHA1", "SHA256", "SHA512", "STEAM")
DIGITS = (6, 7, 8)
STEAM_DIGITS = 5
DEFAULT_PERIOD = 30
MIN_PERIOD = 1
MAX_PERIOD = 86400
MAX_LABEL = 64  # UTF-8 bytes, the fob's limit for issuer and name
MIN_SECRET = 2  # bytes; the fob refuses less
MAX_SECRET = 128
# Password managers (Bitwarden among them) keep a Steam Guard secret as steam://BASE32.
STEAM_SCHEME = "steam://"
STEAM_ISSUER = "Steam"
STEAM_NAME = "Steam Guard"  # a steam:// secret names no account; this stands in
WEAK_SECRET = 10  # below 80 bits RFC 4226 calls the key too short
KINDS = ("totp", "hotp")  # time-based (RFC 6238) and counter-based (RFC 4226) accounts
MAX_COUNTER = 0xFFFFFFFF  # the fob keeps an HOTP counter in 32 bits
STEAM_GUESS = (
    "issuer is Steam but the URI has no encoder=steam: treated as a Steam Guard "
    "account (5 characters); --as-totp keeps it a plain TOTP account"
)

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_INDEX = {c: i for i, c in enumerate(_B32)}
# Base32 groups of 8 characters carry 5 bytes; these leftover lengths cannot end a valid string.
_BAD_TAIL = (1, 3, 6)
# Characters people type by mistake for base32 ones: a hint makes the error actionable.
_LOOKALIKE = {"0": "O", "1": "I or L", "8": "B"}


class OtpauthError(OtpfobError, ValueError):
    """A URI, secret or parameter that cannot be used; the message says what is wrong."""


class Account:
    """One account as the host knows it before it goes to the fob: time-based (kind "totp",
    Steam Guard included) or counter-based (kind "hotp", with the counter of its next code)."""

    __slots__ = (
        "name",
        "issuer",
        "secret",
        "algorithm",
        "digits",
        "period",
        "warnings",
        "kind",
        "counter",
    )

    def __init__(
        self,
        name,
        secret,
        issuer="",
        algorithm="SHA1",
        digits=6,
        period=30,
        warnings=None,
        kind="totp",
        counter=0,
    ):
        self.name = name
        self.issuer = issuer or ""
        self.secret = bytes(secret)
        self.algorithm = normalize_algorithm(algorithm)
        self.digits = int(digits)
        self.period = int(period)
        self.warnings = list(warnings or ())
        self.kind = str(kind).lower()
        self.counter = int(counter)
        self.validate()

    @property
    def is_hotp(self):
        return self.kind == "hotp"

    def validate(self):
        check_label("name", self.name)
        if self.issuer:
            check_label("issuer", self.issuer)
        if not self.secret:
            raise OtpauthError("secret is empty")
        if not MIN_SECRET <= len(self.secret) <= MAX_SECRET:
            raise OtpauthError(
                "secret must be %d to %d bytes once decoded, not %d"
                % (MIN_SECRET, MAX_SECRET, len(self.secret))
            )
        weak = "secret is only %d bits" % (8 * len(self.secret))
        if len(self.secret) < WEAK_SECRET and not any(w.startswith(weak) for w in self.warnings):
            self.warnings.append(weak + "; 80 or more is usual")
        if self.algorithm == "STEAM":
            if self.digits != STEAM_DIGITS:
                self.digits = STEAM_DIGITS
        elif self.digits not in DIGITS:
            raise OtpauthError("digits must be 6, 7 or 8, not %s" % self.digits)
        if not MIN_PERIOD <= self.period <= MAX_PERIOD:
            raise OtpauthError(
                "period must be between %d and %d seconds, not %s"
                % (MIN_PERIOD, MAX_PERIOD, self.period)
            )
        if self.kind not in KINDS:
            raise OtpauthError("type must be totp or hotp, not %r" % self.kind)
        if self.is_hotp:
            if self.algorithm == "STEAM":
                raise OtpauthError(
                    "Steam Guard codes are time-based; an HOTP account cannot be Steam"
                )
            if not 0 <= self.counter <= MAX_COUNTER:
                raise OtpauthError(
                    "counter must be between 0 and %d, not %d" % (MAX_COUNTER, self.counter)
                )
        elif self.counter:
            self.counter = 0

    def replace(self, **changes):
        """A copy with some fields changed (checked again)."""
        fields = {
            k: getattr(self, k)
            for k in (
                "name",
                "secret",
                "issuer",
                "algorithm",
                "digits",
                "period",
                "kind",
                "counter",
            )
        }
        fields["warnings"] = list(self.warnings)
        fields.update(changes)
        name = fields.pop("name")
        secret = fields.pop("secret")
        return Account(name, secret, **fields)

    @property
    def label(self):
        return "%s:%s" % (self.issuer, self.name) if self.issuer else self.name

    def __repr__(self):
        # Never the secret: reprs end up in logs and tracebacks.
        if self.is_hotp:
            return "Account(%r, issuer=%r, hotp, algorithm=%r, digits=%d, counter=%d)" % (
                self.name,
                self.issuer,
                self.algorithm,
                self.digits,
                self.counter,
            )
        return "Account(%r, issuer=%r, algorithm=%r, digits=%d, period=%d)" % (
            self.name,
            self.issuer,
            self.algorithm,
            self.digits,
            self.period,
        )

    def __eq__(self, other):
        return isinstance(other, Account) and all(
            getattr(self, k) == getattr(other, k)
            for k in (
                "name",
                "issuer",
                "secret",
                "algorithm",
                "digits",
                "period",
                "kind",
                "counter",
            )
        )

    __hash__ = None


def check_label(what, text):
    if not isinstance(text, str) or not text.strip():
        raise OtpauthError("%s is empty" % what)
    if len(text.encode("utf-8")) > MAX_LABEL:
        raise OtpauthError("%s is longer than %d bytes" % (what, MAX_LABEL))
    for ch in text:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise OtpauthError("%s contains a control character (code %d)" % (what, ord(ch)))


def normalize_algorithm(text):
    name = str(text).strip().upper().replace("-", "")
    if name not in ALGORITHMS:
        raise OtpauthError("algorithm must be one of %s, not %r" % (", ".join(ALGORITHMS), text))
    return name


def decode_secret(text):
    """Base32 as people paste it: any case, spaces or dashes between groups, padding optional."""
    if not isinstance(text, str):
        raise OtpauthError("secret must be text")
    cleaned = []
    for pos, ch in enumerate(text, 1):
        if ch in " \t-":
            continue
        up = ch.upper()
        if up == "=":
            cleaned.append("=")
            continue
        if up not in _B32_INDEX:
            hint = _LOOKALIKE.get(ch)
            shown = repr(ch) if ch.isprintable() else "U+%04X" % ord(ch)
            msg = "secret is not valid base32: character %s at position %d" % (shown, pos)
            if hint:
                msg += " (did you mean %s?)" % hint
            else:
                msg += " (base32 uses only A-Z and 2-7)"
            raise OtpauthError(msg)
        if cleaned and cleaned[-1] == "=":
            raise OtpauthError("secret is not valid base32: padding '=' in the middle")
        cleaned.append(up)
    body = "".join(cleaned).rstrip("=")
    if "=" in body:
        raise OtpauthError("secret is not valid base32: padding '=' in the middle")
    if not body:
        raise OtpauthError("secret is empty")
    if len(body) % 8 in _BAD_TAIL:
        raise OtpauthError(
            "secret is not valid base32: %d characters cannot be a whole "
            "number of bytes (a character missing or extra?)" % len(body)
        )
    bits = 0
    nbits = 0
    out = bytearray()
    for ch in body:
        bits = (bits << 5) | _B32_INDEX[ch]
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
    return bytes(out)


def encode_secret(data: bytes, padding: bool = False) -> str:
    bits = 0
    nbits = 0
    out = []
    for b in bytes(data):
        bits = (bits << 8) | b
        nbits += 8
        while nbits >= 5:
            nbits -= 5
            out.append(_B32[(bits >> nbits) & 31])
    if nbits:
        out.append(_B32[(bits << (5 - nbits)) & 31])
    text = "".join(out)
    if padding and len(text) % 8:
        text += "=" * (8 - len(text) % 8)
    return text


def _int_param(params, key, default):
    if key not in params:
        return default
    raw = params[key].strip()
    try:
        return int(raw)
    except ValueError:
        raise OtpauthError("%s must be a whole number, not %r" % (key, raw)) from None


def parse_uri(uri, as_totp=False):
    """Parse an otpauth://totp/ or otpauth://hotp/ URI (or a steam:// secret) into an
    Account; `Account.warnings` lists what was fixed up. An issuer=Steam URI without
    encoder=steam is read as Steam Guard (see steam_rule) unless `as_totp`."""
    if not isinstance(uri, str):
        raise OtpauthError("URI must be text")
    uri = uri.strip()
    if is_steam(uri):
        return parse_steam(uri)
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise OtpauthError("not a valid URI: %s" % exc) from None
    if parts.scheme.lower() != "otpauth":
        if parts.scheme.lower() == "otpauth-migration":
            raise OtpauthError("this is a Google Authenticator export; use `otpfob import`")
        # Only a scheme is named: what was pasted could be a bare secret.
        url_like = parts.scheme and uri[len(parts.scheme) :].startswith("://")
        raise OtpauthError(
            "URI must start with otpauth:// or steam://%s"
            % ((", not %s://" % parts.scheme) if url_like and len(parts.scheme) <= 20 else "")
        )
    kind = parts.netloc.lower()
    if kind not in ("totp", "hotp", "steam"):
        # The type is named only when it looks like one: a URI missing its '/' and '?'
        # has the secret in this part.
        named = parts.netloc.isalpha() and len(parts.netloc) <= 6
        raise OtpauthError(
            "URI type must be totp or hotp%s"
            % ((", not %r" % parts.netloc) if named else " (otpauth://totp/...)")
        )
    warnings = []
    params = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        key = key.lower()
        if key in params and params[key] != value:
            raise OtpauthError("parameter %r is given twice with different values" % key)
        params[key] = value
    raw = parts.path.lstrip("/")
    if not raw.strip():
        raise OtpauthError("URI has no account name (otpauth://totp/Issuer:account?...)")
    # The separator may be a literal or an encoded colon; split before decoding so that an
    # encoded colon inside a literal-colon label stays part of the name.
    prefix, name = "", raw
    if ":" in raw:
        prefix, name = raw.split(":", 1)
    elif "%3a" in raw.lower():
        at = raw.lower().index("%3a")
        prefix, name = raw[:at], raw[at + 3 :]
    prefix = unquote(prefix).strip()
    name = unquote(name).strip()
    issuer = params.get("issuer", "").strip()
    if issuer and prefix and issuer != prefix:
        warnings.append(
            "issuer parameter %r differs from the label prefix %r; using %r"
            % (issuer, prefix, issuer)
        )
    issuer = issuer or prefix
    if not name:
        raise OtpauthError("URI has an empty account name")
    if "secret" not in params:
        raise OtpauthError("URI has no secret parameter")
    secret = decode_secret(params["secret"])

    algorithm = params.get("algorithm", "SHA1").strip() or "SHA1"
    algorithm = normalize_algorithm(algorithm)
    encoder = params.get("encoder", "").strip().lower()
    if kind == "steam" or encoder == "steam":
        if kind == "hotp":
            raise OtpauthError(
                "Steam Guard codes are time-based; an otpauth://hotp/ URI "
                "cannot carry encoder=steam"
            )
        algorithm = "STEAM"
    elif encoder:
        raise OtpauthError("unknown encoder %r (only steam is known)" % encoder)
    if kind == "hotp":
        if "counter" not in params:
            raise OtpauthError("an otpauth://hotp/ URI needs a counter parameter")
        counter = _int_param(params, "counter", 0)
        if not 0 <= counter <= MAX_COUNTER:
            raise OtpauthError("counter must be between 0 and %d, not %d" % (MAX_COUNTER, counter))
        digits = _int_param(params, "digits", 6)
        if digits not in DIGITS:
            raise OtpauthError("digits must be 6, 7 or 8, not %d" % digits)
        return Account(
            name,
            secret,
            issuer=issuer,
            algorithm=algorithm,
            digits=digits,
            warnings=warnings,
            kind="hotp",
            counter=counter,
        )
    if algorithm == "STEAM":
        digits = _int_param(params, "digits", STEAM_DIGITS)
        if digits != STEAM_DIGITS:
            warnings.append("Steam codes always have 5 characters; digits=%d ignored" % digits)
        digits = STEAM_DIGITS
    else:
        digits = _int_param(params, "digits", 6)
        if digits not in DIGITS:
            raise OtpauthError("digits must be 6, 7 or 8, not %d" % digits)
    period = _int_param(params, "period", DEFAULT_PERIOD)
    if not MIN_PERIOD <= period <= MAX_PERIOD:
        raise OtpauthError(
            "period must be between %d and %d seconds, not %d" % (MIN_PERIOD, MAX_PERIOD, period)
        )
    account = Account(
        name,
        secret,
        issuer=issuer,
        algorithm=algorithm,
        digits=digits,
        period=period,
        warnings=warnings,
    )
    return steam_rule(account, as_totp)


def steam_rule(account, as_totp=False):
    """Steam Guard exports often say only issuer=Steam (Steam Desktop Authenticator's
    otpauth://totp/Steam:NAME?...&issuer=Steam, apps that store such URIs): a SHA-1, 30 s
    TOTP account whose issuer is Steam is taken as Steam Guard, with a warning saying so,
    unless `as_totp`. Returns the account to use."""
    if (
        as_totp
        or account.kind != "totp"
        or account.algorithm != "SHA1"
        or account.period != DEFAULT_PERIOD
        or account.issuer.strip().lower() != "steam"
    ):
        return account
    return account.replace(
        algorithm="STEAM", digits=STEAM_DIGITS, warnings=account.warnings + [STEAM_GUESS]
    )


def is_steam(text):
    """True for a ``steam://BASE32SECRET`` text."""
    return isinstance(text, str) and text.strip().lower().startswith(STEAM_SCHEME)


def parse_steam(text, name=None, issuer=None):
    """A ``steam://BASE32SECRET`` Steam Guard secret -> Account (issuer Steam, 5 characters).

    The text names no account, so ``name`` (default "Steam Guard") and ``issuer`` (default
    "Steam") label it."""
    if not is_steam(text):
        raise OtpauthError("a Steam secret must start with steam://")
    body = text.strip()[len(STEAM_SCHEME) :].rstrip("/")
    if "?" in body or "/" in body:
        raise OtpauthError("steam:// takes only a base32 secret (no path or parameters)")
    try:
        secret = decode_secret(body)
    except OtpauthError as exc:
        raise OtpauthError("steam:// %s" % exc) from None
    return Account(
        name or STEAM_NAME,
        secret,
        issuer=STEAM_ISSUER if issuer is None else issuer,
        algorithm="STEAM",
        digits=STEAM_DIGITS,
    )


def build_uri(account):
    """The otpauth URI for an account (what a service would put in its QR code)."""
    label = quote(account.name, safe="@")
    if account.issuer:
        label = quote(account.issuer, safe="@") + ":" + label
    if account.algorithm == "STEAM":
        query = [("secret", encode_secret(account.secret))]
        if account.issuer:
            query.append(("issuer", account.issuer))
        query.append(("encoder", "steam"))
    elif account.is_hotp:
        query = [("secret", encode_secret(account.secret))]
        if account.issuer:
            query.append(("issuer", account.issuer))
        query += [
            ("algorithm", account.algorithm),
            ("digits", str(account.digits)),
            ("counter", str(account.counter)),
        ]
        return "otpauth://hotp/%s?%s" % (
            label,
            "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in query),
        )
    else:
        query = [("secret", encode_secret(account.secret))]
        if account.issuer:
            query.append(("issuer", account.issuer))
        query += [
            ("algorithm", account.algorithm),
            ("digits", str(account.digits)),
            ("period", str(account.period)),
        ]
    return "otpauth://totp/%s?%s" % (
        label,
        "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in query),
    )


def parse_lines(text, as_totp=False):
    """otpauth URIs or steam:// secrets one per line (blank lines and # comments
    skipped) -> list of Accounts.

    Errors name the line number so a long file can be fixed.
    """
    accounts = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            accounts.append(parse_uri(line, as_totp))
        except OtpauthError as exc:
            raise OtpauthError("line %d: %s" % (lineno, exc)) from None
    return accounts
