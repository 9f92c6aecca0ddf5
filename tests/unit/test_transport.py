import os
import pty
import socket
import threading
from types import SimpleNamespace

import pytest

from otpfob import transport
from otpfob.transport import TransportError, connect, discover, find_data_ports, open_port


def port(
    device,
    vid=None,
    pid=None,
    interface=None,
    description="n/a",
    serial_number=None,
    location=None,
    product=None,
):
    return SimpleNamespace(
        device=device,
        vid=vid,
        pid=pid,
        interface=interface,
        description=description,
        serial_number=serial_number,
        location=location,
        product=product,
    )


# What pyserial reports on Linux for a Pico running CircuitPython with usb_cdc data enabled.
LINUX_PICO = [
    port(
        "/dev/ttyACM0",
        0x239A,
        0x80F4,
        "CircuitPython CDC control",
        "Pico - CircuitPython CDC control",
        "E6614C311B7A6F2B",
        "1-1.3:1.0",
        "Pico",
    ),
    port(
        "/dev/ttyACM1",
        0x239A,
        0x80F4,
        "CircuitPython CDC2 data",
        "Pico - CircuitPython CDC2 data",
        "E6614C311B7A6F2B",
        "1-1.3:1.2",
        "Pico",
    ),
]
UNRELATED = [
    port("/dev/ttyS0"),
    port("/dev/ttyUSB0", 0x0403, 0x6001, None, "FT232R USB UART", "A50285BI", "1-2:1.0"),
]


def test_data_interface_is_found_by_name():
    assert discover(ports=UNRELATED + LINUX_PICO) == "/dev/ttyACM1"


def test_console_interface_is_never_picked():
    with pytest.raises(TransportError) as e:
        discover(ports=UNRELATED + LINUX_PICO[:1])
    assert e.value.code == "no_port"
    assert "/dev/ttyACM0" in str(e.value) and "console" in str(e.value)


def test_no_board_at_all_says_plug_it_in():
    with pytest.raises(TransportError) as e:
        discover(ports=UNRELATED)
    assert e.value.code == "no_port" and "--port" in str(e.value)


def test_macos_style_ports_without_interface_names_pick_second_interface():
    ports = [
        port("/dev/cu.usbmodem14203", 0x2E8A, 0x1000, None, "Pico", "DF6050788B3E2C2E"),
        port("/dev/cu.usbmodem14201", 0x2E8A, 0x1000, None, "Pico", "DF6050788B3E2C2E"),
    ]
    # Without locations the device name order decides: the later name is the second interface.
    assert discover(ports=ports) == "/dev/cu.usbmodem14203"


def test_windows_style_locations_pick_the_higher_interface_number():
    ports = [
        port("COM7", 0x239A, 0x8120, None, "USB Serial Device (COM7)", "ABC", "1-2:x.2"),
        port("COM6", 0x239A, 0x8120, None, "USB Serial Device (COM6)", "ABC", "1-2:x.0"),
    ]
    assert discover(ports=ports) == "COM7"


def test_board_with_a_single_vid_port_has_no_data_channel():
    ports = [port("/dev/cu.usbmodem1", 0x239A, 0x80F4, None, "Feather", "X1")]
    assert find_data_ports(ports) == []
    with pytest.raises(TransportError, match="only the REPL console"):
        discover(ports=ports)


def _second_fob():
    return [
        port("/dev/ttyACM2", 0x2E8A, 0x1000, "CircuitPython CDC control", serial_number="B2"),
        port("/dev/ttyACM3", 0x2E8A, 0x1000, "CircuitPython CDC2 data", serial_number="B2"),
    ]


def test_several_fobs_without_a_chooser_is_an_error_listing_them():
    with pytest.raises(TransportError) as e:
        discover(ports=LINUX_PICO + _second_fob())
    assert e.value.code == "several"
    assert "/dev/ttyACM1" in str(e.value) and "/dev/ttyACM3" in str(e.value)
    assert [p.device for p in e.value.ports] == ["/dev/ttyACM1", "/dev/ttyACM3"]


def test_several_fobs_with_a_chooser_use_its_pick():
    seen = []

    def choose(ports):
        seen.extend(p.device for p in ports)
        return ports[1]

    assert discover(ports=LINUX_PICO + _second_fob(), choose=choose) == "/dev/ttyACM3"
    assert seen == ["/dev/ttyACM1", "/dev/ttyACM3"]


def test_discover_uses_pyserial_listing(monkeypatch):
    from serial.tools import list_ports

    monkeypatch.setattr(list_ports, "comports", lambda: UNRELATED + LINUX_PICO)
    assert discover() == "/dev/ttyACM1"


def test_describe_names_device_product_and_serial():
    text = transport.describe(LINUX_PICO[1])
    assert "/dev/ttyACM1" in text and "Pico" in text and "E6614C311B7A6F2B" in text


@pytest.fixture
def tcp_echo():
    """A TCP server that answers every line with the same line, upper-cased."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            buf = b""
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    # Split the reply in two writes to exercise reassembly.
                    conn.sendall(b"noise\r\n" + line.upper()[:3])
                    conn.sendall(line.upper()[3:] + b"\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield "socket://127.0.0.1:%d" % srv.getsockname()[1]
    srv.close()


def test_socket_url_round_trip_reassembles_lines(tcp_echo):
    t = connect(tcp_echo)
    try:
        t.write_line(b"hello fob")
        assert t.read_line(2) == b"noise"
        assert t.read_line(2) == b"HELLO FOB"
        assert t.read_line(0.2) is None
    finally:
        t.close()


def test_refused_tcp_port_is_a_no_port_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    with pytest.raises(TransportError) as e:
        open_port("socket://127.0.0.1:%d" % free)
    assert e.value.code == "no_port"


def test_missing_device_path_is_a_no_port_error(tmp_path):
    with pytest.raises(TransportError) as e:
        open_port(str(tmp_path / "ttyACM9"))
    assert e.value.code == "no_port" and "ttyACM9" in str(e.value)


@pytest.mark.skipif(os.name != "posix", reason="exclusive tty locks are POSIX")
def test_port_in_use_is_reported_busy():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    first = open_port(path)
    try:
        with pytest.raises(TransportError) as e:
            open_port(path)
        assert e.value.code == "busy" and "in use" in str(e.value)
    finally:
        first.close()
        os.close(master)
        os.close(slave)


def test_pty_round_trip():
    master, slave = pty.openpty()
    t = connect(os.ttyname(slave))
    try:
        t.write_line(b'{"id":1}')
        got = b""
        while not got.endswith(b"\n"):
            got += os.read(master, 100)
        assert got.replace(b"\r", b"") == b'{"id":1}\n'
        os.write(master, b'{"id":1,"ok":true}\n')
        assert t.read_line(2) == b'{"id":1,"ok":true}'
    finally:
        t.close()
        os.close(master)
        os.close(slave)
