"""Finding the fob's data channel and opening it: a serial device path or any pyserial URL.

CircuitPython with `usb_cdc.enable(console=True, data=True)` shows two CDC interfaces: the
REPL console ("CircuitPython CDC control") and the data channel ("CircuitPython CDC2
data"). Only the data channel speaks the fob's protocol; talking to the console would
interrupt the running code.py.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import EXIT_NO_FOB, OtpfobError

if TYPE_CHECKING:  # pyserial is imported only when a port is opened or listed
    import serial

ADAFRUIT_VID = 0x239A
RASPBERRY_PI_VID = 0x2E8A
FOB_VIDS = (ADAFRUIT_VID, RASPBERRY_PI_VID)

DEFAULT_BAUD = 115200


class PortInfo(Protocol):
    """What discovery reads of a listed port (pyserial's ListPortInfo has it all; `vid`,
    `pid`, `serial_number`, `interface`, `description`, `product` and `location` are read
    with getattr, as not every platform fills them)."""

    device: str


class LineTransport(Protocol):
    """What the protocol client needs of a connection to a fob."""

    def write_line(self, data: bytes) -> None: ...

    def read_line(self, timeout: float) -> bytes | None: ...

    def close(self) -> None: ...


class TransportError(OtpfobError):
    """Port not found, busy or unusable; `code` is stable: no_port, several, busy, open, io."""

    exit_status = EXIT_NO_FOB

    def __init__(self, code: str, message: str, ports: Sequence[PortInfo] | None = None):
        OtpfobError.__init__(self, message)
        self.code = code
        self.message = message
        self.ports = ports or []


def _text(port: PortInfo) -> str:
    return " ".join(
        str(getattr(port, attr, None) or "") for attr in ("interface", "description", "product")
    ).lower()


def _is_data_interface(port: PortInfo) -> bool:
    text = _text(port)
    return "cdc2" in text or ("circuitpython" in text and "data" in text)


def _is_console_interface(port: PortInfo) -> bool:
    text = _text(port)
    return "cdc control" in text or ("circuitpython" in text and "control" in text)


def _interface_number(port: PortInfo) -> int | None:
    """USB interface number from the location ("1-1.2:1.2" on Linux, "...x.2" on Windows)."""
    location = getattr(port, "location", None) or ""
    tail = location.rsplit(":", 1)[-1] if ":" in location else location
    tail = tail.rsplit(".", 1)[-1]
    try:
        return int(tail)
    except ValueError:
        return None


def find_data_ports(ports: Iterable[PortInfo]) -> list[PortInfo]:
    """The fob data channels among `ports` (objects shaped like pyserial's ListPortInfo)."""
    ports = list(ports)
    named = [p for p in ports if _is_data_interface(p)]
    if named:
        return sorted(named, key=lambda p: p.device)
    # Without interface names (macOS, some Windows drivers) a board with both channels shows
    # two ports with the same serial number; the data channel is the second interface.
    groups: dict[tuple[Any, Any, Any], list[PortInfo]] = {}
    for p in ports:
        if getattr(p, "vid", None) in FOB_VIDS and not _is_console_interface(p):
            key = (
                getattr(p, "vid", None),
                getattr(p, "pid", None),
                getattr(p, "serial_number", None) or p.device,
            )
            groups.setdefault(key, []).append(p)
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue

        def order(p: PortInfo) -> tuple[int, int, str]:
            n = _interface_number(p)
            return (0 if n is None else 1, n if n is not None else 0, p.device)

        found.append(sorted(members, key=order)[-1])
    return sorted(found, key=lambda p: p.device)


def console_only_boards(ports: Iterable[PortInfo]) -> list[PortInfo]:
    """Boards that show only a console port: code.py's boot.py did not enable data."""
    return [p for p in ports if getattr(p, "vid", None) in FOB_VIDS or _is_console_interface(p)]


def list_serial_ports() -> list[PortInfo]:
    # pyserial's port listing is imported only when a port has to be found.
    from serial.tools import list_ports

    return list(list_ports.comports())


def describe(port: PortInfo) -> str:
    parts = [port.device]
    label = getattr(port, "product", None) or getattr(port, "description", None)
    if label and label != "n/a":
        parts.append(label)
    serial_number = getattr(port, "serial_number", None)
    if serial_number:
        parts.append("serial %s" % serial_number)
    return " - ".join(parts)


def discover(
    ports: Iterable[PortInfo] | None = None,
    choose: Callable[[list[PortInfo]], Any] | None = None,
) -> str:
    """The device path of the fob's data channel.

    `choose(list_of_ports)` picks one when several fobs are connected; without it that is an
    error listing them.
    """
    if ports is None:
        ports = list_serial_ports()
    found = find_data_ports(ports)
    if not found:
        boards = console_only_boards(ports)
        if boards:
            raise TransportError(
                "no_port",
                "no fob data channel found: %s shows only the REPL console "
                "(is the otpfob firmware with its boot.py installed?)" % boards[0].device,
            )
        raise TransportError(
            "no_port",
            "no fob found: plug it in, or give --port "
            "(a device path or a pyserial URL such as socket://HOST:PORT)",
        )
    if len(found) == 1:
        return found[0].device
    if choose is None:
        raise TransportError(
            "several",
            "%d fobs connected (%s); pick one with --port"
            % (len(found), ", ".join(p.device for p in found)),
            found,
        )
    chosen = choose(found)
    return str(chosen.device if hasattr(chosen, "device") else chosen)


def usb_serial(port: PortInfo) -> str | None:
    """The USB serial number of a listed port, lower case (CircuitPython's is the chip's
    unique id in hex, the `serial` the fob's hello gives), or None when not shown."""
    value = getattr(port, "serial_number", None)
    return str(value).lower() if value else None


def _looks_like_url(port: str) -> bool:
    return "://" in port


class SerialTransport:
    """Line transport over pyserial: `write_line`, `read_line(timeout)`, `close`."""

    def __init__(self, serial_port: serial.SerialBase) -> None:
        self.port = serial_port
        self._buffer = bytearray()

    def write_line(self, data: bytes) -> None:
        try:
            self.port.write(data + b"\n")
            self.port.flush()
        except Exception as exc:  # pyserial raises SerialException, OSError, socket errors
            raise TransportError("io", "lost the connection to the fob (%s)" % exc) from None

    def read_line(self, timeout: float) -> bytes | None:
        """One line without its newline, or None when nothing complete came within timeout."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            nl = self._buffer.find(b"\n")
            if nl >= 0:
                line = bytes(self._buffer[:nl])
                del self._buffer[: nl + 1]
                return line.rstrip(b"\r")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self.port.timeout = min(left, 0.5)
                waiting = getattr(self.port, "in_waiting", 0) or 1
                chunk = self.port.read(max(1, waiting))
            except Exception as exc:
                raise TransportError("io", "lost the connection to the fob (%s)" % exc) from None
            if chunk:
                self._buffer += chunk

    def discard_input(self) -> None:
        self._buffer = bytearray()
        try:
            reset: Callable[[], None] = getattr(self.port, "reset_input_buffer", None) or (
                lambda: None
            )  # not every URL handler has it (SerialBase does not declare it)
            reset()
        except Exception:  # noqa: BLE001 - best effort; some URL handlers lack it
            pass

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # noqa: BLE001 - closing a dead port must not hide the real error
            pass


def _quick_socket_class() -> type[serial.SerialBase]:
    import select
    import socket
    import struct

    from serial.urlhandler import protocol_socket

    ioctl: Callable[..., Any] | None
    try:
        import fcntl
        import termios

        ioctl, fionread = fcntl.ioctl, termios.FIONREAD
    except ImportError:  # Windows
        ioctl, fionread = None, 0

    class QuickSocketSerial(protocol_socket.Serial):
        """pyserial's socket:// port, minus two costs that matter for a CLI.

        Its close() sleeps 0.3 s for servers that need a pause between reconnects (the fob
        does not), and its in_waiting says at most 1, so a 25 KB `list` reply would be read
        with one system call per byte.
        """

        def close(self) -> None:
            sock: socket.socket | None = getattr(self, "_socket", None)
            if self.is_open and sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
                self._socket = None
            self.is_open = False

        @property
        def in_waiting(self) -> int:
            sock: socket.socket | None = getattr(self, "_socket", None)
            if sock is None:
                return 0
            ready, _, _ = select.select([sock], [], [], 0)
            if not ready:
                return 0
            if ioctl is not None:
                try:
                    raw = ioctl(sock.fileno(), fionread, struct.pack("I", 0))
                    return max(1, int(struct.unpack("I", raw)[0]))
                except OSError:
                    pass
            return 1

    return QuickSocketSerial


def open_port(port: str, timeout: float = 0.5) -> serial.SerialBase:
    """Open a device path or pyserial URL; errors become TransportError with a stable code."""
    import serial

    kwargs: dict[str, Any] = {"baudrate": DEFAULT_BAUD, "timeout": timeout, "write_timeout": 5}
    if not _looks_like_url(port) and os.name == "posix":
        # Two programs on one tty interleave their bytes; refuse instead of corrupting both.
        kwargs["exclusive"] = True
    if port.lower().startswith("socket://"):
        try:
            return _quick_socket_class()(port, **kwargs)
        except serial.SerialException as exc:
            raise _open_error(port, exc) from None
    try:
        opened: serial.SerialBase = serial.serial_for_url(port, **kwargs)
        return opened
    except serial.SerialException as exc:
        raise _open_error(port, exc) from None
    except (ValueError, OSError) as exc:
        raise TransportError("open", "cannot open %s: %s" % (port, _short(str(exc)))) from None


def _open_error(port: str, exc: Exception) -> TransportError:
    """A TransportError with a stable code for pyserial's open failure."""
    text = str(exc)
    err = getattr(exc, "errno", None)
    low = text.lower()
    if (
        err in (errno.EBUSY, errno.EAGAIN)
        or "lock" in low
        or "busy" in low
        or "resource temporarily unavailable" in low
    ):
        return TransportError(
            "busy",
            "fob busy: %s is in use by another program "
            "(a serial terminal or another otpfob?)" % port,
        )
    if err == errno.ENOENT or "no such file" in low:
        return TransportError("no_port", "no such port: %s" % port)
    if err == errno.EACCES or "permission denied" in low:
        return TransportError(
            "open", "permission denied on %s (on Linux, join the dialout group)" % port
        )
    if "connection refused" in low or "could not open port" in low:
        return TransportError("no_port", "cannot open %s: %s" % (port, _short(text)))
    return TransportError("open", "cannot open %s: %s" % (port, _short(text)))


def _short(text: str) -> str:
    return text.splitlines()[0] if text else "unknown error"


def connect(
    port: str | None = None,
    choose: Callable[[list[PortInfo]], Any] | None = None,
    ports: Iterable[PortInfo] | None = None,
) -> SerialTransport:
    """A SerialTransport to the fob at `port` (path or URL), discovering it when None."""
    if not port:
        port = discover(ports=ports, choose=choose)
    return SerialTransport(open_port(port))
