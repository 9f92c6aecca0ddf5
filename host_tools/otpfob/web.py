"""``otpfob web``: the admin page (``web/``) served on this computer.

The page is static files: HTML, CSS, JavaScript modules, the npm packages it uses (the
MicroPython WebAssembly port that runs the fob on the page, and jsQR), and the Python
files of the fob on the page (the firmware, the pinned Adafruit drivers, the stand-in
module of otpfob's simulator bridge). ``site_files()`` maps every URL path to its file,
the same way in a checkout (``web/``, ``node_modules/``, the installed drivers) and in an
installed wheel (``otpfob/bundled/web``); ``--export DIR`` writes them as a folder that
any static web server can publish.

Served by this command the page has three more things, all on 127.0.0.1 only:
- ``POST /api/import``: a file the page cannot read itself goes through otpfob's own
  importers (``otpfob.importers.collect``, as ``otpfob import`` reads it) and what it
  holds comes back to the page (accounts, skipped entries and why, conflicts); the file is
  read in memory and never written to disk. An encrypted export's password comes in a
  header (``X-Export-Password``) when the page asks the admin for it.
- ``POST /api/clock``: the clock history `otpfob time show` keeps per fob (calibration.py),
  so readings taken in the page and with the CLI add up, and calibration works in both.
- ``/bridge`` (with ``--serial-bridge socket://HOST:PORT``): a WebSocket carrying the
  bytes of that TCP data port, which the page uses in place of WebSerial (a headless
  ``otpfob sim``'s data port, for example).
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import resources

# The drivers the firmware imports on the page (as on a board, bench.display.PRECOMPILED).
DRIVERS = (
    "adafruit_ssd1306",
    "adafruit_ds3231",
    "adafruit_framebuf",
    "adafruit_bus_device",
    "adafruit_register",
)
STUB = Path(__file__).resolve().parent / "sim" / "mpy_stubs" / "simlink.py"

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".py": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
}

# The page runs only its own scripts and WebAssembly, talks only to the server that
# served it, and cannot be framed. (index.html carries the same policy in a meta tag for
# a static host that sends no header.)
CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "style-src 'self'; manifest-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "serial=(self), camera=(self), display-capture=(self), "
    "geolocation=(), microphone=()",
    "Cache-Control": "no-store",
}
MAX_UPLOAD = 8 * 1024 * 1024
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebError(Exception):
    pass


def web_dir():
    """The page's own files: the wheel's copy, or the checkout's web/."""
    bundled = resources.BUNDLED / "web"
    return bundled if (bundled / "index.html").is_file() else resources.REPO / "web"


def node_modules():
    return resources.REPO / "node_modules"


def vendor_files(web=None):
    """{name: file} of the npm files the page loads (web/vendor.json names them): the
    wheel's web/vendor/, else the checkout's node_modules/."""
    web = web_dir() if web is None else web
    out = {}
    for name, rel in json.loads((web / "vendor.json").read_text())["files"].items():
        for candidate in (web / "vendor" / name, node_modules() / rel):
            if candidate.is_file():
                out[name] = candidate
                break
        else:
            raise WebError(
                "the page's %s is missing (npm: %s): run `make setup` (npm ci) "
                "in the checkout" % (name, rel)
            )
    return out


def fob_files(web=None):
    """{path under fob/py/: file} of the Python the fob on the page runs."""
    web = web_dir() if web is None else web
    out = {}
    lib = resources.firmware_dir() / "lib"
    for f in sorted((lib / "fob").glob("*.py")):
        out["fob/" + f.name] = f
    for name in DRIVERS:
        found = resources.driver(name)
        if found is None:
            raise WebError("the driver %s is missing (%s)" % (name, resources.where()))
        if found.is_dir():
            for f in sorted(found.rglob("*.py")):
                out[name + "/" + f.relative_to(found).as_posix()] = f
        else:
            out[found.name] = found
    out["simlink.py"] = STUB
    # The page's board file is the simulator's, less what a page cannot do.
    out["sim_board.py"] = resources.boards_dir() / "sim.py"
    for name in ("fob_board.py", "run.py"):
        out[name] = web / "fob" / name
    return out


def site_files():
    """{URL path without the leading slash: file} of the whole static site."""
    web = web_dir()
    out = {}
    for f in sorted(web.rglob("*")):
        rel = f.relative_to(web).as_posix()
        if (
            f.is_file()
            and not rel.startswith("vendor")
            and f.suffix != ".py"
            and "__pycache__" not in rel
            and rel != "package.json"
        ):
            out[rel] = f
    for name, f in vendor_files(web).items():
        out["vendor/" + name] = f
    py = fob_files(web)
    for rel, f in py.items():
        out["fob/py/" + rel] = f
    out["fob/py/manifest.json"] = json.dumps({"files": sorted(py)}, indent=1).encode()
    return out


def export(dest):
    """Write the static site into `dest` (publishable as it is); returns the file count."""
    dest = Path(dest)
    files = site_files()
    for rel, src in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            path.write_bytes(src)
        else:
            shutil.copyfile(src, path)
    (dest / "config.json").write_text(json.dumps({"server": False, "bridge": None}) + "\n")
    return len(files) + 1


# --- what only the local server offers ---------------------------------------------------------


class PasswordWanted(WebError):
    """The uploaded file is an encrypted export and no password (or a wrong one) came."""


def import_file(name, data, password=None):
    """What one uploaded file holds, read by otpfob's importers (`otpfob.importers.collect`,
    as `otpfob import FILE` reads it: recognised by content, entries the fob cannot hold
    skipped with their reasons, repeats counted once, two secrets under one label named as
    a conflict). The bytes are read in memory only: nothing is written to disk. `password`
    opens an encrypted export. Returns the reply for the page: accounts in the wire form
    the page sends on (with where each came from and its fix-ups), skipped entries,
    notices and conflicts."""
    from . import importers
    from .otpauth import OtpauthError, encode_secret

    base = os.path.basename(str(name or "")).strip() or "upload"
    try:
        got = importers.collect([("data", data, base)], importers.Passwords(given=password))
    except importers.PasswordNeeded:
        raise PasswordWanted(
            "%s is encrypted: give the password it was exported with" % base
        ) from None
    except importers.WrongPassword as exc:
        raise PasswordWanted(str(exc)) from None
    except (importers.ImportFileError, OtpauthError) as exc:
        raise WebError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - an importer's failure, named for the page
        raise WebError("%s: %s" % (base, exc)) from None
    accounts = []
    for a, where in got.items:
        accounts.append(
            {
                "name": a.name,
                "issuer": a.issuer,
                "secret": encode_secret(a.secret),
                "algorithm": a.algorithm,
                "digits": a.digits,
                "period": a.period,
                "type": a.kind,
                "counter": a.counter,
                "warnings": list(a.warnings),
                "where": where,
            }
        )
    return {
        "accounts": accounts,
        "skipped": [{"label": s.label, "where": s.where, "reason": s.reason} for s in got.skipped],
        "notices": list(got.notices),
        "conflicts": [[label, list(wheres)] for label, wheres in got.conflicts],
        "formats": [title for _, title in got.formats],
    }


class _Reading:
    """A page's offset reading in the shape calibration.event() takes."""

    def __init__(self, d):
        self.offset = d.get("offset")
        self.error = d.get("error")
        self.at = d.get("at")
        self.round_trip = d.get("round_trip")

    def point(self):
        return {
            "at": _round(self.at, 3),
            "offset": _round(self.offset, 4),
            "error": _round(self.error, 4),
        }


def _round(value, digits):
    return None if value is None else round(float(value), digits)


def clock_action(body):
    """The clock history, for the page: record a reading, or estimate the drift."""
    from . import calibration

    serial = str(body.get("serial") or "")
    history = calibration.History()
    action = body.get("action")
    if action == "record":
        r = body.get("reading") or {}
        before = body.get("before")
        event = calibration.event(
            body.get("kind") or "show",
            _Reading(r),
            body.get("aging"),
            bool(body.get("set")),
            before=_Reading(before).point() if before else None,
            aging_before=body.get("aging_before"),
        )
        history.record(serial, event)
        est = calibration.predict(
            history.events(serial), now=float(r.get("at") or 0), aging=body.get("aging")
        )
        return {"recorded": True, "ppm": None if not est else est.get("ppm")}
    if action == "estimate":
        try:
            est = calibration.estimate(history.events(serial), aging=body.get("aging"))
        except calibration.CalibrationError as exc:
            raise WebError(str(exc)) from None
        return {k: v for k, v in est.items() if isinstance(v, (int, float, bool))}
    if action == "events":
        return {"events": history.events(serial)}
    raise WebError("unknown clock action %r" % (action,))


# --- the server --------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "otpfob-web"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, each response of a
    # kept-alive connection would wait for the browser's delayed ACK (about 40 ms a file).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            BaseHTTPRequestHandler.log_message(self, fmt, *args)

    def _host_ok(self):
        # Only names of this computer: a page elsewhere that rebinds its own name to
        # 127.0.0.1 cannot use the server.
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "::1")

    def _origin_ok(self):
        origin = self.headers.get("Origin")
        if origin is None:
            return False
        return origin.lower() in self.server.origins

    def _send(self, status, body, ctype="application/json", extra=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, data):
        self._send(status, json.dumps(data, ensure_ascii=False))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if not self._host_ok():
            return self._send(HTTPStatus.FORBIDDEN, "not a name of this computer", "text/plain")
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/bridge":
            return self._bridge()
        rel = path.lstrip("/") or "index.html"
        if rel.endswith("/"):
            rel += "index.html"
        if rel == "config.json":
            return self._json(HTTPStatus.OK, {"server": True, "bridge": self.server.bridge})
        src = self.server.files.get(rel)
        if src is None:
            return self._send(HTTPStatus.NOT_FOUND, "not found", "text/plain")
        data = src if isinstance(src, bytes) else Path(src).read_bytes()
        ctype = TYPES.get(os.path.splitext(rel)[1], "application/octet-stream")
        self._send(HTTPStatus.OK, data, ctype)

    def do_POST(self):
        if not self._host_ok() or not self._origin_ok():
            return self._json(
                HTTPStatus.FORBIDDEN, {"error": "only the page this server served may ask it"}
            )
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD:
            return self._json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": "the file is larger than %d MiB" % (MAX_UPLOAD // 1048576)},
            )
        data = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        try:
            if path == "/api/import":
                name = self.headers.get("X-Filename") or "upload"
                password = self.headers.get("X-Export-Password")
                return self._json(
                    HTTPStatus.OK,
                    import_file(
                        _unquote(name), data, None if password is None else _unquote(password)
                    ),
                )
            if path == "/api/clock":
                return self._json(HTTPStatus.OK, clock_action(json.loads(data or b"{}")))
        except PasswordWanted as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc), "password": True})
        except WebError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except ValueError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "bad request: %s" % exc})
        return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    # -- the serial bridge: a WebSocket (RFC 6455) relaying a TCP data port's bytes --------
    def _bridge(self):
        if not self.server.bridge:
            return self._send(HTTPStatus.NOT_FOUND, "no --serial-bridge", "text/plain")
        if not self._origin_ok():
            return self._send(
                HTTPStatus.FORBIDDEN, "only the page this server served", "text/plain"
            )
        key = self.headers.get("Sec-WebSocket-Key")
        if not key or (self.headers.get("Upgrade") or "").lower() != "websocket":
            return self._send(HTTPStatus.BAD_REQUEST, "a WebSocket only", "text/plain")
        host, port = self.server.bridge_address
        try:
            tcp = socket.create_connection((host, port), timeout=5)
        except OSError as exc:
            return self._send(
                HTTPStatus.BAD_GATEWAY,
                "cannot reach %s: %s" % (self.server.bridge, exc),
                "text/plain",
            )
        tcp.settimeout(None)
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(HTTPStatus.SWITCHING_PROTOCOLS)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        sock = self.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lock = threading.Lock()

        def to_page():
            try:
                while True:
                    chunk = tcp.recv(65536)
                    if not chunk:
                        break
                    with lock:
                        sock.sendall(ws_frame(0x2, chunk))
            except OSError:
                pass
            try:
                with lock:
                    sock.sendall(ws_frame(0x8, b""))
            except OSError:
                pass

        pump = threading.Thread(target=to_page, daemon=True)
        pump.start()
        try:
            while True:
                frame = ws_read(self.rfile)
                if frame is None:
                    break
                op, payload = frame
                if op == 0x8:
                    break
                if op == 0x9:
                    with lock:
                        sock.sendall(ws_frame(0xA, payload))
                elif op in (0x0, 0x1, 0x2):
                    tcp.sendall(payload)
        except OSError:
            pass
        finally:
            try:
                tcp.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tcp.close()
            pump.join(2)


def _unquote(text):
    from urllib.parse import unquote

    return unquote(text)


def ws_frame(op, payload):
    head = bytes([0x80 | op])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def ws_read(rfile):
    """One frame from the page (always masked): (opcode, payload), or None at the end."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    op = head[0] & 0x0F
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", rfile.read(8))[0]
    if n > 1 << 24:
        return None
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = rfile.read(n)
    if len(data) < n:
        return None
    return op, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port=0, bridge=None, verbose=False):
        self.files = site_files()
        self.bridge = bridge
        self.bridge_address = parse_bridge(bridge) if bridge else None
        self.verbose = verbose
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), Handler)
        port = self.server_address[1]
        self.origins = {
            "http://127.0.0.1:%d" % port,
            "http://localhost:%d" % port,
            "http://[::1]:%d" % port,
        }

    def handle_error(self, request, client_address):
        import sys

        # A browser that closes a kept-alive connection (a reload, a closed tab) is no error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.server_address[1]

    def start(self):
        """Serve on a thread (for tests and benchmarks); returns self."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def parse_bridge(text):
    if not text.lower().startswith("socket://"):
        raise WebError(
            "--serial-bridge takes socket://HOST:PORT (a TCP data port such as "
            "`otpfob sim --headless`'s), not %r" % text
        )
    host, sep, port = text[len("socket://") :].rstrip("/").rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise WebError("--serial-bridge takes socket://HOST:PORT, not %r" % text)
    return (host.strip("[]") or "127.0.0.1", int(port))


def _command():
    import click

    @click.command("web", epilog="Example: otpfob web --serial-bridge socket://127.0.0.1:7701")
    @click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=8765,
        show_default=True,
        help="Port on 127.0.0.1 (0: any free one).",
    )
    @click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
    @click.option(
        "--serial-bridge",
        metavar="socket://HOST:PORT",
        help="Reach this TCP data port (e.g. `otpfob sim --headless`'s) from the "
        "page instead of WebSerial.",
    )
    @click.option(
        "--export",
        "export_dir",
        type=click.Path(file_okay=False),
        help="Write the page as static files into this folder and exit.",
    )
    @click.option("-v", "--verbose", is_flag=True, help="Log every request.")
    def web_command(port, no_browser, serial_bridge, export_dir, verbose):
        """The admin page in your browser: provision a fob over WebSerial (Chrome, Edge),
        or try the fob running on the page itself.

        \b
        Examples:
          otpfob web
          otpfob web --no-browser --serial-bridge socket://127.0.0.1:7701
          otpfob web --export site/
        """
        from .cli.util import ExpectedError

        try:
            if export_dir:
                n = export(export_dir)
                click.echo("Wrote %d files to %s." % (n, export_dir))
                return
            server = WebServer(port, serial_bridge, verbose)
        except WebError as exc:
            raise ExpectedError(str(exc)) from None
        except OSError as exc:
            raise ExpectedError(
                "cannot serve on 127.0.0.1:%d: %s" % (port, exc.strerror or exc)
            ) from None
        click.echo("The otpfob admin page is at %s (Ctrl-C stops it)." % server.url)
        if serial_bridge:
            click.echo("Its serial port is the bridge to %s." % serial_bridge)
        if not no_browser:
            import webbrowser

            webbrowser.open(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    return web_command


web_command = _command()
