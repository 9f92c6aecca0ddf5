"""How the CLI finds the fob when --port is not given, and its errors when it cannot."""

import os
import pty
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from serial.tools import list_ports

from otpfob.cli import main


def _port(device, interface, serial_number):
    return SimpleNamespace(
        device=device,
        vid=0x239A,
        pid=0x80F4,
        interface=interface,
        description="Pico - " + interface,
        serial_number=serial_number,
        location=None,
        product="Pico",
    )


def _fob(n):
    return [
        _port("/dev/ttyACM%d" % (2 * n), "CircuitPython CDC control", "S%d" % n),
        _port("/dev/ttyACM%d" % (2 * n + 1), "CircuitPython CDC2 data", "S%d" % n),
    ]


def invoke(args, ports, monkeypatch, **kw):
    monkeypatch.delenv("OTPFOB_PORT", raising=False)
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    return CliRunner().invoke(main, args, **kw)


def test_no_fob_plugged_in(monkeypatch):
    result = invoke(["list"], [], monkeypatch)
    assert result.exit_code == 4  # no fob
    assert result.stderr == (
        "otpfob: error: no fob found: plug it in, or give --port (a device "
        "path or a pyserial URL such as socket://HOST:PORT)\n"
    )


def test_several_fobs_under_json_is_an_error_naming_them(monkeypatch):
    result = invoke(["--json", "list"], _fob(0) + _fob(1), monkeypatch)
    assert result.exit_code == 4
    assert "/dev/ttyACM1" in result.stderr and "/dev/ttyACM3" in result.stderr
    assert "--port" in result.stderr


def test_discovered_port_is_opened(monkeypatch, tmp_path):
    result = invoke(
        ["list"], [_port(str(tmp_path / "gone"), "CircuitPython CDC2 data", "X")], monkeypatch
    )
    assert result.exit_code == 4 and "no such port" in result.stderr and "gone" in result.stderr


def test_port_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OTPFOB_PORT", str(tmp_path / "envport"))
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 4 and "envport" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="exclusive tty locks are POSIX")
def test_busy_port_is_reported(monkeypatch):
    import serial

    master, slave = pty.openpty()
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)
    try:
        result = CliRunner().invoke(main, ["--port", path, "list"])
        assert result.exit_code == 4
        assert "busy" in result.stderr and path in result.stderr
        assert result.stderr.count("\n") == 1
    finally:
        holder.close()
        os.close(master)
        os.close(slave)
