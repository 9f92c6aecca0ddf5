"""Run ``otpfob sim --headless`` as a subprocess for tests.

    with SimProcess(tmp_path / "state", demo=True) as fob:
        fob.control("press A")
        st = fob.status()
        port = serial.serial_for_url(fob.data_url, timeout=2)

``data_url`` is a pyserial URL (``socket://127.0.0.1:PORT``), or a pty path with
``data="pty"``. Errors carry the simulator's recent output, so a failing test shows why.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class SimError(RuntimeError):
    pass


class SimProcess:
    def __init__(
        self,
        state_dir,
        board="sim",
        demo=False,
        firmware=None,
        drift_ppm=None,
        data="tcp",
        extra_args=(),
        start_timeout=30.0,
        command_timeout=60.0,
        env=None,
        autopress=False,
        command=None,
        cwd=None,
    ):
        self.state_dir = Path(state_dir)
        # What starts the simulator (default: this interpreter's otpfob), and where.
        self.command = list(command or [sys.executable, "-m", "otpfob.sim"])
        self.cwd = cwd
        # True: a simulated user approves every presence prompt (control `autopress on`).
        self.autopress = autopress
        self.board = board
        self.demo = demo
        self.firmware = firmware
        self.drift_ppm = drift_ppm
        self.data = data
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.command_timeout = command_timeout
        self.env = env
        self.proc = None
        self.data_url = None
        self.data_address = None
        self.control_address = None
        self._out = []
        self._err = []
        self._sock = None
        self._rfile = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        args = self.command + [
            "--headless",
            "--state",
            str(self.state_dir),
            "--board",
            self.board,
            "--control",
            "127.0.0.1:0",
            "--data",
            "pty" if self.data == "pty" else "127.0.0.1:0",
        ]
        if self.demo:
            args.append("--demo")
        if self.firmware is not None:
            args += ["--firmware", str(self.firmware)]
        if self.drift_ppm is not None:
            args += ["--drift-ppm", str(self.drift_ppm)]
        args += self.extra_args
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.cwd,
        )
        ready = threading.Event()
        threading.Thread(
            target=self._pump, args=(self.proc.stdout, self._out, ready), daemon=True
        ).start()
        threading.Thread(
            target=self._pump, args=(self.proc.stderr, self._err, None), daemon=True
        ).start()
        deadline = time.monotonic() + self.start_timeout
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SimError(
                    "simulator did not start (exit %s)\n%s" % (self.proc.returncode, self.output())
                )
        for line in list(self._out):
            if line.startswith("otpfob sim: data "):
                self.data_url = line.split("data ", 1)[1].strip()
                if self.data_url.startswith("socket://"):
                    host, port = self.data_url[len("socket://") :].rsplit(":", 1)
                    self.data_address = (host, int(port))
            elif line.startswith("otpfob sim: control "):
                host, port = line.split("control ", 1)[1].strip().rsplit(":", 1)
                self.control_address = (host, int(port))
        if self.control_address is None or self.data_url is None:
            self.kill()
            raise SimError("simulator printed no addresses\n" + self.output())
        # Ready once the firmware loop sleeps for the first time (or the firmware ended).
        self.wait_for(
            lambda st: (
                st["firmware"] in ("done", "crashed")
                or (st["firmware"] == "running" and st["sleeps"] > 0)
            ),
            what="firmware start",
        )
        if self.autopress:
            self.ok("autopress on")
        return self

    def _pump(self, stream, sink, ready):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            sink.append(line)
            if ready is not None and line == "otpfob sim: ready":
                ready.set()
        stream.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # Shown by pytest with the failing test's captured output.
            sys.stderr.write(self.output() + "\n")
        if self.running:
            try:
                self.stop()
            except SimError:
                self.kill()
        self._close_socket()
        return False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self, tail=60):
        """The simulator's recent stdout and stderr."""
        out = "\n".join(self._out[-tail:])
        err = "\n".join(self._err[-tail:])
        return "--- simulator stdout\n%s\n--- simulator stderr\n%s" % (out, err)

    def stop(self, timeout=15.0):
        """``quit`` and wait for a clean exit; returns the exit code."""
        try:
            self.control("quit")
        except (SimError, OSError):
            pass
        self._close_socket()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SimError("simulator did not exit on quit\n" + self.output()) from None

    def kill(self):
        """SIGKILL, like pulling the USB cable: nothing gets to save."""
        self._close_socket()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        return self.proc.returncode if self.proc is not None else None

    # -- control port ----------------------------------------------------------------------
    def _close_socket(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._rfile = None

    def _connect(self):
        if self._sock is None:
            self._sock = socket.create_connection(self.control_address, timeout=10)
            self._rfile = self._sock.makefile("rb")

    def control(self, line, timeout=None):
        """Send one command line; returns the reply line (``ok ...`` or ``error ...``)."""
        if self.proc is None:
            raise SimError("simulator not started")
        with self._lock:
            try:
                self._connect()
                self._sock.settimeout(timeout or self.command_timeout)
                self._sock.sendall(line.encode("utf-8") + b"\n")
                reply = self._rfile.readline()
            except OSError as e:
                self._close_socket()
                raise SimError("control %r failed: %s\n%s" % (line, e, self.output())) from None
        if not reply:
            self._close_socket()
            raise SimError("control %r: connection closed\n%s" % (line, self.output()))
        return reply.decode("utf-8").rstrip("\n")

    def ok(self, line, timeout=None):
        """Like control() but raises unless the answer is ``ok``; returns the rest."""
        reply = self.control(line, timeout)
        if not reply.startswith("ok"):
            raise SimError("%r answered %r\n%s" % (line, reply, self.output()))
        return reply[3:]

    def status(self):
        return json.loads(self.ok("status"))

    def wait_for(self, predicate, timeout=20.0, what="condition"):
        """Poll status until ``predicate(status)`` holds; returns that status."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if predicate(st):
                return st
            if st.get("firmware") == "crashed":
                raise SimError(
                    "firmware crashed waiting for %s: %s\n%s"
                    % (what, st.get("error"), self.output())
                )
            if time.monotonic() > deadline:
                raise SimError(
                    "timed out waiting for %s; last status %s\n%s" % (what, st, self.output())
                )
            time.sleep(0.05)

    def screen_png(self, path):
        self.ok("screen %s" % path)
        return Path(path)

    def press(self, button):
        return self.ok("press %s" % button)

    def answer(self, yes=True):
        """The holder's answer to the question on the fob (a hold of A for yes)."""
        return self.ok("answer " + ("yes" if yes else "no"))

    def advance(self, seconds):
        return self.ok("advance %s" % seconds)

    def clock(self, epoch):
        return self.ok("clock %d" % epoch)
