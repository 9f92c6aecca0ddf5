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
    """A TCP server shared the way a USB serial port is: any number of programs connect
    at once; what each sends reaches the fob as it comes (a line written at once stays
    whole), and what the fob writes goes to every one of them (each keeps the replies
    to its own requests, by id). ``connected`` while at least one program is on, as DTR
    stays up while any program holds the port open."""

    def __init__(self, host="127.0.0.1", port=0):
        # Whether a program is on, and whether the fob has read that since it came: a
        # program that connects, writes and leaves within one of the fob's loop passes
        # stays "connected" until the fob has seen it, as on USB its bytes alone take
        # longer than a pass (about 1 MB/s), so the fob sees every program come and go.
        self._up = False
        self._seen = True
        super().__init__(lock=threading.Lock(), connected=False)
        self._server = socket.create_server((host, port))
        self.address = self._server.getsockname()[:2]
        self._clients = []
        # Programs that once took less than the fob wrote (they stopped reading): from
        # then on they get only what their buffers take at once, so they hold nobody up.
        self._deaf = set()
        self._client_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="data-tcp", daemon=True)
        self._thread.start()

    @property
    def url(self):
        return "socket://%s:%d" % self.address

    @property
    def connected(self):
        up = self._up or not self._seen
        self._seen = True
        return up

    @property
    def up(self):
        return self._up

    @connected.setter
    def connected(self, up):
        if up and not self._up:
            self._seen = False
        self._up = up

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
                self._clients.append(client)
                self.connected = True
            threading.Thread(
                target=self._receive, args=(client,), name="data-tcp-client", daemon=True
            ).start()

    def _receive(self, client):
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
                if client in self._clients:
                    self._clients.remove(client)
                self._deaf.discard(client)
                self.connected = bool(self._clients)
            client.close()

    def send(self, b, timeout=None):
        """Writes b to every program on the port; with a timeout (real seconds) gives up
        on what one that does not read has not taken by then. Returns how many bytes went
        to the program that took the most: as on a tty, the bytes are gone once anyone
        reads them, and only when nobody does is the fob's write cut short."""
        with self._client_lock:
            clients = list(self._clients)
            deaf = set(self._deaf)
        if not clients:
            return len(b)
        most = 0
        for client in clients:
            try:
                if client in deaf:
                    sent = _send_within(client, b, 0)
                elif timeout is None:
                    client.sendall(b)
                    sent = len(b)
                else:
                    sent = _send_within(client, b, timeout)
            except OSError:
                sent = len(b)
            if sent < len(b):
                with self._client_lock:
                    self._deaf.add(client)
            most = max(most, sent)
        return most

    def close(self):
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass
        with self._client_lock:
            for client in self._clients:
                try:
                    client.shutdown(socket.SHUT_RDWR)
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
