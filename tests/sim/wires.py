"""Another program on the fob's data channel, for the attack tests: raw JSON lines over
the simulator's TCP data port, replies matched by id."""

import json
import socket
import time


class Program:
    """Another program writing to the fob's data channel: raw lines in, replies by id."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    @classmethod
    def connect(cls, address):
        sock = socket.create_connection(address, timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def send(self, data):
        self.sock.sendall(data)

    def reply(self, rid, timeout=15.0):
        """The final reply with this id (interim "pending" lines skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and r.get("id") == rid and "pending" not in r:
                    return r
            left = deadline - time.monotonic()
            assert left > 0, "no reply to %r" % (rid,)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            assert chunk, "the fob closed the channel"
            self.buf += chunk

    def call(self, rid, cmd, **params):
        req = {"id": rid, "cmd": cmd}
        req.update(params)
        self.send(json.dumps(req).encode() + b"\n")
        return self.reply(rid)

    def close(self):
        self.sock.close()
