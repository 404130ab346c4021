"""A TCP proxy on loopback that can cut connections or corrupt a request body, for failure tests.

Plain threads and sockets: every accepted connection gets a pair of pump threads. `cut()` closes all
live connections and refuses new ones until `restore()`; `freeze()` keeps every connection open but
forwards nothing until `thaw()`, like a server that was stopped with SIGSTOP (the kernel accepts,
nobody answers); `corrupt_next_request()` flips one byte well past the HTTP headers of the next
client-to-server stream.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._down = False
        self._corrupt = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self.connections_seen = 0
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self._down = True
            connections, self._connections = self._connections, []
        for conn in connections:
            _close(conn)

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def corrupt_next_request(self, count: int = 1) -> None:
        with self._lock:
            self._corrupt += count

    def close(self) -> None:
        self._stopped = True
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
                corrupt = self._corrupt > 0
                if corrupt:
                    self._corrupt -= 1
                self.connections_seen += 1
            if down:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._connections += [client, server]
            for source, sink, flip in ((client, server, corrupt), (server, client, False)):
                threading.Thread(
                    target=_pump, args=(source, sink, flip, self._flowing), daemon=True
                ).start()


def _pump(
    source: socket.socket, sink: socket.socket, corrupt: bool, flowing: threading.Event
) -> None:
    seen = 0
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            flowing.wait()
            if corrupt and seen + len(data) > 4096:
                index = max(0, 4096 - seen)
                data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
                corrupt = False
            seen += len(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
