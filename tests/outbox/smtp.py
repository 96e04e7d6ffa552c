"""A small SMTP server on loopback that keeps every message it accepts; it can also refuse or stall.

`refuse` answers 451 (try again later) to MAIL FROM. `stall` keeps a new
connection in its greeting, sending a continuation line every 0.2 s, so the
client neither gets an answer nor hits its socket timeout: a sender stays
busy for as long as the stall lasts.
"""

from __future__ import annotations

import socketserver
import threading
import time
from email import message_from_bytes
from email.message import Message


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.connections += 1
        try:
            while owner.mode == "stall" and not owner.stopped.is_set():
                self.reply("220-still starting, please wait")
                time.sleep(0.2)
            self.reply("220 loopback ESMTP")
            self._conversation(owner)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (or was killed)

    def _conversation(self, owner: SmtpServer) -> None:
        while line := self.rfile.readline():
            command = line[:4].decode(errors="replace").upper()
            if command == "EHLO":
                self.reply("250-loopback")
                self.reply("250 8BITMIME")
            elif command == "MAIL":
                self.reply("451 4.3.0 try again later" if owner.mode == "refuse" else "250 OK")
            elif command in {"HELO", "RCPT", "RSET", "NOOP"}:
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                owner.received(self._data())
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SmtpServer


class SmtpServer:
    def __init__(self, mode: str = "accept") -> None:
        self.mode = mode
        self.messages: list[Message] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]

    def received(self, data: bytes) -> None:
        with self.lock:
            self.messages.append(message_from_bytes(data))

    def __enter__(self) -> SmtpServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
