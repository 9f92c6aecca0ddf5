"""`otpfob web`'s server: what it serves and to whom, the importers it lends the page,
the serial bridge's WebSocket, and the static export."""

import base64
import json
import os
import socket
import threading
import urllib.error
import urllib.request

import pytest

from otpfob import migration, web
from otpfob.otpauth import Account, build_uri


def get(srv, path, headers=None):
    req = urllib.request.Request(srv.url.rstrip("/") + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post(srv, path, body, origin=True, headers=None):
    h = dict(headers or {})
    if origin:
        h.setdefault("Origin", srv.url.rstrip("/"))
    req = urllib.request.Request(srv.url.rstrip("/") + path, data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_page_and_its_files_come_with_a_strict_content_security_policy(server):
    status, headers, body = get(server, "/")
    assert status == 200 and b"Add account" in body
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = get(server, "/vendor/micropython.wasm")
    assert status == 200 and headers["Content-Type"] == "application/wasm"
    assert body[:4] == b"\0asm"
    status, _, body = get(server, "/fob/py/manifest.json")
    files = json.loads(body)["files"]
    assert "fob/app.py" in files and "adafruit_ssd1306.py" in files and "simlink.py" in files
    assert get(server, "/fob/py/fob/protocol.py")[0] == 200
    assert get(server, "/../pyproject.toml")[0] == 404
    assert get(server, "/package.json")[0] == 404


def test_the_html_pages_load_nothing_from_elsewhere():
    for name in ("index.html", "fob.html"):
        text = (web.web_dir() / name).read_text()
        assert "Content-Security-Policy" in text
        for tag in ('src="http', 'href="http', 'src="//', 'href="//'):
            assert tag not in text, (name, tag)


def test_a_page_under_another_name_gets_nothing(server):
    # DNS rebinding: another site whose name resolves to 127.0.0.1 sends its own Host.
    status, _, _ = get(server, "/", {"Host": "evil.example:%d" % server.server_address[1]})
    assert status == 403


def test_only_the_served_page_may_post(server):
    status, data = post(server, "/api/import", b"otpauth://x", origin=False)
    assert status == 403
    status, data = post(server, "/api/import", b"x", headers={"Origin": "http://evil.example"})
    assert status == 403


@pytest.fixture
def temp_files(monkeypatch):
    """Every temporary file or folder made in this process while the test runs (the server
    runs in it, on a thread): an upload must be read in memory only."""
    import tempfile

    made = []
    for name in (
        "TemporaryDirectory",
        "NamedTemporaryFile",
        "mkstemp",
        "mkdtemp",
        "TemporaryFile",
        "SpooledTemporaryFile",
    ):
        original = getattr(tempfile, name)

        def recording(*a, _original=original, _name=name, **kw):
            made.append(_name)
            return _original(*a, **kw)

        monkeypatch.setattr(tempfile, name, recording)
    return made


def test_the_server_reads_a_file_with_otpfobs_importers_and_returns_what_it_holds(
    server, temp_files
):
    text = "\n".join(
        [
            build_uri(Account("alice", b"alice-secret-0123456", issuer="Ex")),
            migration.export_uris([Account("bob", b"bob-secret-012345678")])[0],
            "otpauth://totp/Old:md5?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            build_uri(
                Account("card", b"card-secret-01234567", issuer="Bank", kind="hotp", counter=5)
            ),
            build_uri(Account("alice", b"alice-secret-0123456", issuer="Ex")),
        ]
    )
    status, data = post(server, "/api/import", text.encode(), headers={"X-Filename": "list.txt"})
    assert status == 200, data
    got = [
        (
            a["issuer"],
            a["name"],
            base64.b32decode(a["secret"] + "=" * (-len(a["secret"]) % 8)),
            a["type"],
            a["counter"],
            a["where"],
        )
        for a in data["accounts"]
    ]
    assert got == [
        ("Ex", "alice", b"alice-secret-0123456", "totp", 0, "list.txt line 1"),
        ("", "bob", b"bob-secret-012345678", "totp", 0, "list.txt line 2"),
        ("Bank", "card", b"card-secret-01234567", "hotp", 5, "list.txt line 4"),
    ]
    # The entry the fob cannot hold is skipped with its place and reason, as the CLI says.
    assert data["skipped"] == [
        {
            "label": "Old:md5",
            "where": "list.txt line 3",
            "reason": "algorithm must be one of SHA1, SHA256, SHA512, STEAM, not 'MD5'",
        }
    ]
    assert data["notices"] == [
        "Ex:alice appears 2 times with the same secret (list.txt "
        "line 1 and list.txt line 5); counted once"
    ]
    assert temp_files == []


def test_a_file_of_no_known_format_gets_the_clis_error_naming_it(server, temp_files):
    status, data = post(
        server, "/api/import", b'{"hello": 1}', headers={"X-Filename": "../../bad.json"}
    )
    assert status == 400
    assert data["error"].startswith(
        "bad.json is JSON that matches no supported export (its keys: hello)"
    ), data
    assert "password" not in data and temp_files == []


def andotp_encrypted(entries, password):
    """An andOTP encrypted backup as its format is published: PBKDF2 rounds, salt, nonce,
    then AES-256-GCM under PBKDF2-HMAC-SHA1."""
    import hashlib
    import struct

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce, rounds = os.urandom(12), os.urandom(12), 1000
    key = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, rounds, 32)
    return (
        struct.pack(">I", rounds)
        + salt
        + nonce
        + AESGCM(key).encrypt(nonce, json.dumps(entries).encode(), None)
    )


def test_an_encrypted_export_asks_for_its_password_and_opens_with_it(server):
    backup = andotp_encrypted(
        [
            {
                "secret": "JBSWY3DPEHPK3PXP",
                "issuer": "Shop",
                "label": "me",
                "type": "TOTP",
                "digits": 6,
                "period": 30,
                "algorithm": "SHA1",
            }
        ],
        "tr\u00e8s secret",
    )
    status, data = post(server, "/api/import", backup, headers={"X-Filename": "otp.json.aes"})
    assert status == 400 and data["password"] is True
    assert data["error"] == "otp.json.aes is encrypted: give the password it was exported with"
    status, data = post(
        server,
        "/api/import",
        backup,
        headers={"X-Filename": "otp.json.aes", "X-Export-Password": "wrong"},
    )
    assert status == 400 and data["password"] is True and "wrong password" in data["error"]
    status, data = post(
        server,
        "/api/import",
        backup,
        headers={"X-Filename": "otp.json.aes", "X-Export-Password": "tr%C3%A8s%20secret"},
    )
    assert status == 200, data
    assert [(a["issuer"], a["name"], a["where"]) for a in data["accounts"]] == [
        ("Shop", "me", "otp.json.aes entry 1")
    ]


def test_the_clock_history_is_the_clis(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OTPFOB_HOME", str(tmp_path))
    reading = {"offset": 0.0123, "error": 0.004, "at": 1_800_000_000.5, "round_trip": 0.01}
    status, data = post(
        server,
        "/api/clock",
        json.dumps(
            {"action": "record", "serial": "abc", "kind": "show", "reading": reading, "aging": 0}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200 and data["recorded"]
    from otpfob.calibration import History

    (event,) = History(tmp_path / "clock-history.json").events("abc")
    assert event["offset"] == 0.0123 and event["kind"] == "show"
    status, data = post(
        server,
        "/api/clock",
        json.dumps({"action": "estimate", "serial": "abc", "aging": 0}).encode(),
    )
    assert status == 400 and "a day" in data["error"]


def ws_connect(srv):
    s = socket.create_connection(srv.server_address, timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            "GET /bridge HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            "Origin: %s\r\n\r\n" % (srv.server_address[1], key, srv.url.rstrip("/"))
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s, head


def ws_send(s, data):
    mask = os.urandom(4)
    s.sendall(
        bytes([0x82, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    )


def test_the_serial_bridge_carries_bytes_both_ways(bridge_server):
    # A stand-in data port that answers each line with its reverse.
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)

    def serve():
        conn, _ = lst.accept()
        buf = b""
        while b"\n" not in buf:
            buf += conn.recv(100)
        conn.sendall(buf.strip()[::-1] + b"\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    srv = bridge_server("socket://127.0.0.1:%d" % lst.getsockname()[1])
    s, head = ws_connect(srv)
    assert head.startswith(b"HTTP/1.1 101")
    ws_send(s, b'{"cmd":"info"}\n')
    frame = s.recv(2)
    assert frame[0] == 0x82
    payload = s.recv(frame[1] & 0x7F)
    assert payload == b'}"ofni":"dmc"{\n'
    s.close()
    lst.close()


def test_without_the_bridge_there_is_no_websocket(server):
    s, head = ws_connect(server)
    assert b" 404 " in head.split(b"\r\n")[0]
    s.close()


def test_a_bridge_to_a_bad_address_is_refused_with_its_form():
    with pytest.raises(web.WebError, match="socket://HOST:PORT"):
        web.parse_bridge("127.0.0.1:7701")


def test_the_export_is_a_static_site_that_says_it_has_no_server(tmp_path):
    n = web.export(tmp_path / "site")
    site = tmp_path / "site"
    assert n > 40
    for rel in (
        "index.html",
        "fob.html",
        "js/main.js",
        "vendor/micropython.wasm",
        "vendor/jsQR.js",
        "fob/py/fob/app.py",
        "fob/py/manifest.json",
    ):
        assert (site / rel).is_file(), rel
    assert json.loads((site / "config.json").read_text()) == {"server": False, "bridge": None}
    manifest = json.loads((site / "fob/py/manifest.json").read_text())["files"]
    assert all((site / "fob/py" / f).is_file() for f in manifest)
