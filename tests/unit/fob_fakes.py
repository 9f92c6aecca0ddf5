"""Fakes for running fob.protocol in-process: a port, flash in memory, a clock that only
moves when told, and a holder who answers prompts as a test says."""

import json

from fakes import FakeClock, FakePort, FakePresence, MemFS, final_reply

from fob.protocol import Protocol
from fob.vault import Vault

T0 = 1800000000


Port = FakePort


# Flash: files in a dict that survive a 'restart' (a new Fob over the same Flash).
Flash = MemFS


# UTC that moves only when a test moves it.
Clock = FakeClock


# The person at the fob: `reply` True (yes), False (no) or None (never answers).
Holder = FakePresence


class Settings:
    """The fob's preferences (fob/settings.py's fields), kept in memory."""

    def __init__(self):
        self.privacy = False
        self.idle_timeout = 30
        self.typing = False
        self.layout = "us"
        self.usb_codes = False
        self.saved = True

    def save(self):
        return True


class Fob:
    def __init__(self, accounts=(), reply=True, flash=None, clock=None):
        self.flash = flash if flash is not None else Flash()
        self.vault = Vault("/", self.flash)
        self.vault.load()
        for a in accounts:
            self.vault.add(a)
        self.clock = clock if clock is not None else Clock()
        self.holder = Holder(reply)
        self.port = Port()
        self.proto = Protocol(self.port, self.vault, self.clock, {}, presence=self.holder)
        self.settings = self.proto.settings = Settings()
        # [session key, counter] after login(): later requests carry the session's MAC.
        self.session = None

    def login(self, password):
        """Log in as otpfob does (docs/protocol.md, "Password" and "Sessions")."""
        from otpfob import auth

        self.session = None
        begin = self.call("auth_begin")
        fob_nonce = bytes.fromhex(begin["challenge"])
        key = auth.derive_key(password, bytes.fromhex(begin["salt"]), begin["iterations"])
        host_nonce = auth.new_nonce()
        r = self.call(
            "auth",
            challenge=host_nonce.hex(),
            fob_challenge=fob_nonce.hex(),
            response=auth.host_proof(key, fob_nonce, host_nonce).hex(),
        )
        assert r["ok"], r
        self.session = [auth.session_key(key, fob_nonce, host_nonce), 0]

    def call(self, cmd, **args):
        """The final reply to one request (a request for a press answers twice)."""
        req = {"id": 1, "cmd": cmd}
        req.update(args)
        line = json.dumps(req).encode()
        if self.session is not None:
            from otpfob import auth

            line = auth.sign_line(self.session[0], self.session[1], line)
            self.session[1] += 1
        return final_reply(self.proto, self.port, line)

    def labels(self):
        return [a.label() for a in self.vault.accounts]

    def vault_files(self):
        return {k: bytes(v) for k, v in self.flash.files.items() if "vault" in k}
