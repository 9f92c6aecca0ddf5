"""Host ends of the simulated USB data channel: a TCP server or a pty (CPython only).

Either way the host CLI reaches the fob through pyserial, as it would a real port:
``socket://HOST:PORT`` for TCP, the printed ``/dev/pts/N`` path for the pty.
"""

import errno
import os
import select
import socket
import threading
import time
import tty

from otpfob.sim.cp.usb_cdc import BufferLink


def _send_within(sock, data, timeout):
    # Not sock.settimeout(): the socket is shared with the thread that reads from it.
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + timeout
    while sent < len(view):
        try:
            sent += sock.send(view[sent:], socket.MSG_DONTWAIT)
            continue
        except BlockingIOError:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            break
        select.select([], [sock], [], left)
    return sent


class TcpLink(BufferLink):
    """A TCP server taking one client at a time; ``connected`` while a client is on."""

    def __init__(self, host="127.0.0.1", port=0):
        super().__init__(lock=threading.Lock(), connected=False)
        self._server = socket.create_server((host, port))
        self.address = self._server.getsockname()[:2]
        self._client = None
        self._client_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="data-tcp", daemon=True)
        self._thread.start()

    @property
    def url(self):
        return "socket://%s:%d" % self.address

    def _serve(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # What a host's kernel holds for a program that does not read (Linux's tty
            # buffer is 64 KB); beyond it the fob's writes wait, as on a real port.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            with self._client_lock:
                self._client = client
                self.connected = True
            try:
                while True:
                    data = client.recv(4096)
                    if not data:
                        break
                    self.feed(data)
            except OSError:
                pass
            finally:
                with self._client_lock:
                    self._client = None
                    self.connected = False
                client.close()

    def send(self, b, timeout=None):
        """Writes b to the client; with a timeout (real seconds) gives up on what a client
        that does not read has not taken by then. Returns how many bytes went."""
        with self._client_lock:
            client = self._client
            if client is None:
                return len(b)
            try:
                if timeout is None:
                    client.sendall(b)
                    return len(b)
                return _send_within(client, b, timeout)
            except OSError:
                return len(b)

    def close(self):
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass
        with self._client_lock:
            if self._client is not None:
                try:
                    self._client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class PtyLink(BufferLink):
    """A pseudo-terminal; the host opens ``path``. Always ``connected``: a pty cannot
    tell whether the other end is open, and writes nobody reads are dropped."""

    def __init__(self):
        super().__init__(lock=threading.Lock(), connected=True)
        self._master, self._slave = os.openpty()
        # Raw mode so the line discipline neither echoes nor rewrites the bytes.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._closed = False
        self._thread = threading.Thread(target=self._pump, name="data-pty", daemon=True)
        self._thread.start()

    @property
    def url(self):
        return self.path

    def _pump(self):
        while not self._closed:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if data:
                self.feed(data)

    def send(self, b, timeout=None):
        # Never waits: bytes nobody reads are dropped (timeout is for TcpLink's callers).
        view = memoryview(b)
        while view:
            try:
                n = os.write(self._master, view)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EIO):
                    return
                raise
            view = view[n:]

    def close(self):
        self._closed = True
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
