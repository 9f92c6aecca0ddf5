"""``otpfob sim``: run the firmware on the simulated board."""

import importlib
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from otpfob.resources import use_firmware
from otpfob.sim.channel import PtyLink, TcpLink
from otpfob.sim.control import ControlServer
from otpfob.sim.runner import FIRMWARE_DIR, Simulator

# A public demo secret: RFC 6238's SHA-1 test key "12345678901234567890"
# (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ); it protects nothing.
DEMO_SECRET = b"12345678901234567890"
DEMO_ISSUER = "otpfob"
DEMO_NAME = "demo@example.com"


def parse_address(text, what):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter("expected HOST:PORT, got %r" % text, param_hint=what)
    return (host or "127.0.0.1", int(port))


def seed_demo(state_dir, firmware_dir):
    """Add the demo account through the firmware's own vault code if the vault is empty."""
    had = set(sys.path)
    lib = use_firmware(firmware_dir)
    try:
        try:
            vault = importlib.import_module("fob.vault")
        except ImportError as e:
            raise click.ClickException("--demo needs the firmware's fob.vault (%s)" % e) from None
        v = vault.Vault(str(state_dir))
        v.load()
        if v.accounts:
            return False
        acc = vault.Account(
            name=DEMO_NAME,
            issuer=DEMO_ISSUER,
            secret=DEMO_SECRET,
            algorithm="SHA1",
            digits=6,
            period=30,
            created=int(time.time()),
        )
        v.add(acc)
        return True
    finally:
        if lib not in had:
            sys.path.remove(lib)
        # The firmware imports its modules afresh, under the simulated CircuitPython.
        for name in [n for n in sys.modules if n == "fob" or n.startswith("fob.")]:
            del sys.modules[name]


@click.command("sim")
@click.option("--headless", is_flag=True, help="No terminal display; drive it via --control.")
@click.option(
    "--data",
    "data_addr",
    metavar="HOST:PORT|pty",
    help="Serve the data channel on TCP, or on a pty with 'pty' (default: a pty, "
    "or a free TCP port when headless).",
)
@click.option(
    "--control",
    "control_addr",
    metavar="HOST:PORT",
    help="Serve the control port here (default when headless: a free port).",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False),
    help="The fob's flash: vault, nvm and RTC state (default: a new temp folder).",
)
@click.option(
    "--board",
    default="sim",
    show_default=True,
    help="Board file from boards/ (e.g. adafruit_qtpy_rp2040 for 128x32).",
)
@click.option(
    "--demo", is_flag=True, help="Seed a demo account if the vault is empty and set the RTC to now."
)
@click.option(
    "--firmware",
    "firmware_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Firmware folder with code.py (default: the repository's firmware/).",
)
@click.option(
    "--drift-ppm",
    type=float,
    default=None,
    help="The RTC crystal's error in ppm (kept in the state).",
)
@click.option(
    "--hold",
    "hold_button",
    metavar="BUTTON",
    default=None,
    help="Hold this button down from power-on (as when plugging in with a finger "
    "on it) until the control port's `up BUTTON`.",
)
@click.option(
    "--autopress",
    is_flag=True,
    help="Answer every press prompt of the fob with yes, as a user standing by "
    "would (for scripts against a headless fob; the control port's "
    "`autopress on|off` switches it later).",
)
def sim(
    headless,
    data_addr,
    control_addr,
    state_dir,
    board,
    demo,
    firmware_dir,
    drift_ppm,
    hold_button,
    autopress,
):
    """Run the fob's firmware on simulated hardware."""
    firmware_dir = Path(firmware_dir or FIRMWARE_DIR)
    if state_dir is None:
        state_dir = tempfile.mkdtemp(prefix="otpfob-sim-")
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)

    if data_addr == "pty":
        link = PtyLink()
    elif data_addr:
        link = TcpLink(*parse_address(data_addr, "--data"))
    elif headless:
        link = TcpLink("127.0.0.1", 0)
    else:
        link = PtyLink()
    if demo:
        seed_demo(state_dir, firmware_dir)
    try:
        simulator = Simulator(
            state_dir, firmware_dir=firmware_dir, board=board, drift_ppm=drift_ppm, data_link=link
        )
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    if demo:
        simulator.set_clock(int(time.time()))
    if autopress:
        simulator.set_autopress(True)
    if hold_button is not None:
        try:
            simulator.set_button(hold_button, True)
        except ValueError as e:
            raise click.ClickException(str(e)) from None

    control = None
    if control_addr or headless:
        addr = parse_address(control_addr, "--control") if control_addr else ("127.0.0.1", 0)
        control = ControlServer(simulator, *addr)

    cfg = simulator.board_cfg
    info = [
        "otpfob sim: board %s (%dx%d), state %s"
        % (simulator.board_id(), cfg.DISPLAY_WIDTH, cfg.DISPLAY_HEIGHT, state_dir),
        "otpfob sim: data %s" % link.url,
    ]
    if control is not None:
        info.append("otpfob sim: control %s:%d" % control.address)

    def on_signal(signum, frame):
        simulator.request_quit()

    signal.signal(signal.SIGTERM, on_signal)

    def watchdog():
        # A firmware that stops calling sleep() cannot be stopped politely.
        simulator._quit.wait()
        time.sleep(3.0)
        simulator.save()
        sys.__stderr__.write("otpfob sim: firmware did not stop; exiting\n")
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()

    terminal = None
    if headless:
        for line in info:
            print(line)
        print("otpfob sim: ready", flush=True)
    else:
        from otpfob.sim.terminal import Terminal

        console_log = state_dir / ".sim" / "console.log"
        info.append("otpfob sim: firmware output in %s" % console_log)
        sys.stdout = open(console_log, "a", buffering=1)
        terminal = Terminal(simulator, out=sys.__stdout__, info_lines=info)
        terminal.start()
    try:
        rc = simulator.run()
    finally:
        if terminal is not None:
            terminal.stop()
            sys.stdout = sys.__stdout__
            for line in info:
                print(line)
        if control is not None:
            control.close()
        link.close()
    sys.exit(rc)
