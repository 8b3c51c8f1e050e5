#!/usr/bin/env python3
"""Test helper: open a session's capture WebSocket and cancel it, so the server completes the
session (verdict `retry`, reason `cancelled`) and sends a real signed webhook.

Usage: python3 ws_cancel.py SESSION_URL
"""
import base64
import json
import os
import socket
import sys
import urllib.parse


def main():
    u = urllib.parse.urlsplit(sys.argv[1])
    session_id = u.path.rstrip("/").split("/")[-1]
    c = urllib.parse.parse_qs(u.query)["c"][0]
    path = f"/api/v1/session/{session_id}/ws?c={urllib.parse.quote(c)}"
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    )
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = sock.recv(4096)
        if not chunk:
            break
        resp += chunk
    if not resp.startswith(b"HTTP/1.1 101"):
        sys.exit("handshake failed: " + resp.split(b"\r\n")[0].decode(errors="replace"))
    rest = resp.split(b"\r\n\r\n", 1)[1]

    def send_text(text):
        data = text.encode()
        mask = os.urandom(4)
        assert len(data) < 126
        frame = bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        sock.sendall(frame)

    send_text(json.dumps({"type": "cancel"}))
    # Read until the server sends its verdict or closes.
    buf = rest
    while True:
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            off = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = int.from_bytes(buf[2:4], "big"); off = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = int.from_bytes(buf[2:10], "big"); off = 10
            if len(buf) < off + n:
                break
            opcode, payload, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
            if opcode == 8:
                return
            if opcode == 1:
                msg = json.loads(payload)
                print(msg.get("type"), flush=True)
                if msg.get("type") == "verdict":
                    return
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return
        if not chunk:
            return
        buf += chunk


if __name__ == "__main__":
    main()
