"""``otpfob sim``: run the firmware on the simulated board."""

import errno
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


def listen_error(exc, option, address):
    """The one-line error for a port `otpfob sim` cannot listen on (a ClickException)."""
    where = "%s:%d" % address
    if exc.errno == errno.EADDRINUSE:
        why = (
            "%s is in use by another program (another `otpfob sim`?): stop it, or give "
            "%s another port (%s %s:0 picks a free one)" % (where, option, option, address[0])
        )
    elif exc.errno == errno.EACCES:
        why = "%s needs privileges to listen on; give %s a port above 1023" % (where, option)
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "%s is not an address of this computer; 127.0.0.1 is" % address[0]
    else:
        why = "cannot listen on %s: %s" % (where, exc.strerror or exc)
    return click.ClickException("%s: %s" % (option, why))


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


# Where a running simulator leaves its control port's address, in its state folder, for
# `otpfob sim press` and the other script helpers below.
CONTROL_FILE = Path(".sim") / "control"
DEFAULT_STATE = ".sim-state"  # make sim's


def write_control_file(state_dir, address):
    path = Path(state_dir) / CONTROL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("%s:%d\n" % address)
    return path


# `otpfob sim` runs the simulator; `otpfob sim press A` and the other subcommands talk to
# one that runs.
@click.group(
    "sim",
    invoke_without_command=True,
    epilog="Example: otpfob sim --demo --state ~/.otpfob-sim",
)
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
@click.pass_context
def sim(
    ctx,
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
    """Run the fob's firmware on simulated hardware.

    A running simulator is driven from scripts with the subcommands (`otpfob sim press A`,
    `otpfob sim answer yes`, `otpfob sim status`, ...): they find it through its state
    folder (--state, default .sim-state as `make sim` uses) or its --control address."""
    if ctx.invoked_subcommand is not None:
        return
    firmware_dir = Path(firmware_dir or FIRMWARE_DIR)
    if state_dir is None:
        state_dir = tempfile.mkdtemp(prefix="otpfob-sim-")
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)

    if data_addr == "pty" or not (data_addr or headless):
        link = PtyLink()
    else:
        address = parse_address(data_addr, "--data") if data_addr else ("127.0.0.1", 0)
        try:
            link = TcpLink(*address)
        except OSError as e:
            raise listen_error(e, "--data", address) from None
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

    # The control port always runs (on a free port of this computer unless --control says
    # where): `otpfob sim press A` and the other helpers find it through the state folder.
    addr = parse_address(control_addr, "--control") if control_addr else ("127.0.0.1", 0)
    try:
        control = ControlServer(simulator, *addr)
    except OSError as e:
        link.close()
        raise listen_error(e, "--control", addr) from None
    control_file = write_control_file(state_dir, control.address)

    cfg = simulator.board_cfg
    info = [
        "otpfob sim: board %s (%dx%d), state %s"
        % (simulator.board_id(), cfg.DISPLAY_WIDTH, cfg.DISPLAY_HEIGHT, state_dir),
        "otpfob sim: data %s" % link.url,
    ]
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
        info.append(
            "From another terminal: otpfob --port %s info (or export OTPFOB_PORT=%s)"
            % (link.url, link.url)
        )
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
        control.close()
        try:
            control_file.unlink()
        except OSError:
            pass
        link.close()
    sys.exit(rc)


# -- helpers for scripts: one control-port request each ----------------------------------


def _control_address(control_addr, state_dir):
    if control_addr:
        return parse_address(control_addr, "--control")
    path = Path(state_dir or DEFAULT_STATE) / CONTROL_FILE
    try:
        text = path.read_text().strip()
    except OSError:
        raise click.ClickException(
            "no simulator runs with the state folder %s (%s not found): start one with "
            "`make sim` or `otpfob sim --state %s`, or give --control HOST:PORT"
            % (state_dir or DEFAULT_STATE, path, state_dir or DEFAULT_STATE)
        ) from None
    return parse_address(text, str(path))


def _send(control_addr, state_dir, line):
    from otpfob.sim.control import request

    address = _control_address(control_addr, state_dir)
    try:
        answer = request(address, line, timeout=120.0)
    except OSError as e:
        raise click.ClickException(
            "the simulator's control port %s:%d does not answer (%s): has it stopped?"
            % (address[0], address[1], e.strerror or e)
        ) from None
    status, _, rest = answer.partition(" ")
    if status != "ok":
        raise click.ClickException(rest or answer)
    return rest


def _helper(name, usage, help_text, example):
    """A subcommand that sends `name ARGS...` to the control port and prints its answer."""

    @sim.command(
        name,
        help=help_text,
        short_help=help_text.split(". ")[0].rstrip("."),
        epilog="Example: otpfob sim " + example,
    )
    @click.argument("args", nargs=-1, metavar=usage)
    @click.option(
        "--control",
        "control_addr",
        metavar="HOST:PORT",
        envvar="OTPFOB_SIM_CONTROL",
        help="The simulator's control port (default: from its state folder).",
    )
    @click.option(
        "--state",
        "state_dir",
        type=click.Path(file_okay=False),
        help="The running simulator's state folder (default: .sim-state).",
    )
    @click.pass_context
    def command(ctx, args, control_addr, state_dir):
        # `otpfob sim --state DIR press A` names the folder before the subcommand.
        state_dir = state_dir or ctx.parent.params.get("state_dir")
        control_addr = control_addr or ctx.parent.params.get("control_addr")
        words = args if name == "control" else (name,) + args
        if not words:
            raise click.UsageError("give the control line to send, e.g. `help`")
        rest = _send(control_addr, state_dir, " ".join(words))
        if rest:
            click.echo(rest)

    return command


for _name, _usage, _help, _example in (
    ("press", "BUTTON", "Press a button (A, B or C) for 0.1 s, as a tap.", "press A"),
    ("hold", "BUTTON SECONDS", "Hold a button down for SECONDS, then let go.", "hold A 2"),
    (
        "answer",
        "yes|no",
        "Answer the fob's question: yes holds A until the bar is full.",
        "answer yes",
    ),
    (
        "status",
        "",
        "Print the simulated fob's state (screen, label, time, power) as JSON.",
        "status --state ~/.otpfob-sim",
    ),
    ("screen", "PATH", "Save the OLED's pixels as a PNG at PATH.", "screen oled.png"),
    (
        "control",
        "LINE...",
        "Send any control-port line (`otpfob sim control help`).",
        "control usb off",
    ),
):
    _helper(_name, _usage, _help, _example)
