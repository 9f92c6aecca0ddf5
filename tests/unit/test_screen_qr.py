"""`otpfob add --screen` under a virtual X server (Xvfb): a window shows a service's QR
code, and the account comes from a screenshot (mss) decoded with zxing-cpp. Skips, saying
why, where Xvfb or Tk is missing or no X server can be started (make setup installs xvfb
where it may)."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import segno
from export_samples import VECTORS, check_accounts
from fakes import Cli

SHOW = r"""
import sys, tkinter
root = tkinter.Tk()
root.geometry("+60+40")
img = tkinter.PhotoImage(file=sys.argv[1])
tkinter.Label(root, image=img, borderwidth=0).pack()
root.after(30000, root.destroy)
root.mainloop()
"""


@pytest.fixture
def x_display(tmp_path):
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip(
            "Xvfb is not installed (make setup installs the xvfb package where it "
            "may); the screen test needs an X server"
        )
    for n in range(40):
        display = ":%d" % (170 + (os.getpid() + n) % 300)
        if os.path.exists("/tmp/.X11-unix/X%s" % display[1:]) or os.path.exists(
            "/tmp/.X%s-lock" % display[1:]
        ):
            continue
        proc = subprocess.Popen(
            [xvfb, display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists("/tmp/.X11-unix/X%s" % display[1:]):
                break
            time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        pytest.skip("no X server could be started with Xvfb")
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


def test_add_screen_reads_the_qr_code_shown(x_display, socket_fob, tmp_path, monkeypatch):
    try:
        import tkinter  # noqa: F401
    except ImportError:
        pytest.skip("Tk (tkinter) is not available to show a window on the virtual screen")
    v = VECTORS[2]  # SHA-512, 8 digits, 60 s, non-ASCII label
    png = tmp_path / "qr.png"
    segno.make_qr(v.uri(), error="m").save(str(png), scale=4, border=4)
    env = dict(os.environ, DISPLAY=x_display)
    shower = subprocess.Popen([sys.executable, "-c", SHOW, str(png)], env=env)
    monkeypatch.setenv("DISPLAY", x_display)
    try:
        from otpfob.qr import QrError, read_screen

        deadline = time.monotonic() + 15
        while True:  # until the window is drawn
            try:
                read_screen()
                break
            except QrError:
                if time.monotonic() > deadline or shower.poll() is not None:
                    pytest.fail("the window with the QR code never showed on %s" % x_display)
                time.sleep(0.2)
        result = Cli(socket_fob.url)("add", "--screen")
    finally:
        shower.terminate()
        shower.wait(10)
    assert result.exit_code == 0, result.stderr
    assert "matches" in result.stdout
    from otpfob.otpauth import Account

    a = socket_fob.vault.accounts[0]
    check_accounts(
        [
            Account(
                a.name,
                a.secret,
                issuer=a.issuer,
                algorithm=a.algorithm,
                digits=a.digits,
                period=a.period,
            )
        ],
        [v],
    )


def test_add_screen_without_a_display_says_what_to_do(socket_fob, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = Cli(socket_fob.url)("add", "--screen")
    assert result.exit_code == 1
    assert "cannot take a screenshot" in result.stderr and "--qr" in result.stderr
    assert socket_fob.vault.accounts == []
