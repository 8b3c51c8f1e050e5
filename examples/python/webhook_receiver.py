#!/usr/bin/env python3
"""Receive iLive webhooks and verify their signature (Python standard library only).

Environment:
  ILIVE_WEBHOOK_SECRET  your tenant's signing secret (whsec_...)
  PORT                  port to listen on (default 8000)

Checks, in order: the timestamp is within 300 s of now, and
X-iLive-Signature == "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<raw body>")),
compared in constant time. Anything else gets 401. Deliveries can be retried, so the
receiver is idempotent on session_id.
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["ILIVE_WEBHOOK_SECRET"].encode()
TOLERANCE_S = 300
seen_sessions = set()  # use your database in production


def verify(timestamp, signature, body):
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - ts) > TOLERANCE_S:
        return False
    expected = "sha256=" + hmac.new(SECRET, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verify(self.headers.get("X-iLive-Timestamp"), self.headers.get("X-iLive-Signature"), body):
            print("rejected: bad signature or timestamp", flush=True)
            self.send_response(401)
            self.end_headers()
            return
        payload = json.loads(body)
        session_id = payload["session_id"]
        if session_id in seen_sessions:
            print("duplicate " + session_id, flush=True)
        else:
            seen_sessions.add(session_id)
            print("verified " + json.dumps(payload, sort_keys=True), flush=True)
            # Act on payload["verdict"] here: "pass", "fail" or "retry".
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"listening on 127.0.0.1:{port}", flush=True)
    sys.stdout.flush()
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
