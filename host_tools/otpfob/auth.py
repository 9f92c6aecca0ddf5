"""The management password, host side: key derivation and the proofs (docs/protocol.md).

The password never leaves the laptop. PBKDF2-HMAC-SHA256 over the fob's salt turns it into
a 32-byte key; the fob holds that key as its verifier. A login is two fresh 16-byte nonces,
one from each side, and an HMAC-SHA256 proof from each side over both, so a recorded login
proves nothing the next time. A new key for a fob that has a password travels masked with
the current key and the login's nonces.

A login also gives a session key, HMAC-SHA256(K, "otpfob session" || Nf || Nh). Every later
request carries a MAC under it over a request counter and the request's own bytes, so the
fob answers the program that logged in and no other writer on the same port
(docs/protocol.md, "Sessions").
"""

import hashlib
import hmac
import secrets
import unicodedata

from .errors import OtpfobError

ITERATIONS = 600_000  # PBKDF2-HMAC-SHA256, the OWASP 2023 figure
ITERATIONS_MIN = 10_000  # the fob refuses fewer
SALT_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 16
HOST_LABEL = b"otpfob host"
FOB_LABEL = b"otpfob fob"
WRAP_LABEL = b"otpfob wrap"
SESSION_LABEL = b"otpfob session"
MAC_HEAD = b',"mac":"'  # a MAC'd request line ends with MAC_HEAD, 64 hex digits, '"}'
MAC_TAIL = len(MAC_HEAD) + 64 + 2


class PasswordError(OtpfobError, ValueError):
    pass


def check_password(password: str) -> str:
    if not isinstance(password, str) or not password:
        raise PasswordError("the password is empty")
    if len(password) > 1024:
        raise PasswordError("the password is longer than 1024 characters")
    return password


def derive_key(password: str, salt: bytes, iterations: int) -> bytes:
    # NFC: the same password typed on two keyboards gives the same bytes.
    text = unicodedata.normalize("NFC", check_password(password))
    return hashlib.pbkdf2_hmac(
        "sha256", text.encode("utf-8"), bytes(salt), int(iterations), KEY_SIZE
    )


def mac(key: bytes, label: bytes, a: bytes, b: bytes) -> bytes:
    return hmac.new(key, label + a + b, hashlib.sha256).digest()


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_SIZE)


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_SIZE)


def host_proof(key: bytes, fob_nonce: bytes, host_nonce: bytes) -> bytes:
    return mac(key, HOST_LABEL, fob_nonce, host_nonce)


def fob_proof_ok(key: bytes, fob_nonce: bytes, host_nonce: bytes, proof: bytes) -> bool:
    return hmac.compare_digest(mac(key, FOB_LABEL, host_nonce, fob_nonce), proof)


def wrap(current_key: bytes, fob_nonce: bytes, host_nonce: bytes, new_key: bytes) -> bytes:
    mask = mac(current_key, WRAP_LABEL, fob_nonce, host_nonce)
    return bytes(a ^ b for a, b in zip(new_key, mask, strict=True))


def session_key(key: bytes, fob_nonce: bytes, host_nonce: bytes) -> bytes:
    return mac(key, SESSION_LABEL, fob_nonce, host_nonce)


def request_mac(session: bytes, counter: int, body: bytes) -> bytes:
    """The MAC of a request: HMAC-SHA256(session key, 8-byte big-endian counter || body),
    where body is the request line up to (not including) its closing brace."""
    return hmac.new(session, counter.to_bytes(8, "big") + body, hashlib.sha256).digest()


def sign_line(session: bytes, counter: int, line: bytes) -> bytes:
    """A JSON object's line (no newline) with its MAC member appended as the last one."""
    if not line.endswith(b"}") or len(line) < 3:
        raise ValueError("a request line is a non-empty JSON object")
    body = line[:-1]
    return body + MAC_HEAD + request_mac(session, counter, body).hex().encode() + b'"}'
