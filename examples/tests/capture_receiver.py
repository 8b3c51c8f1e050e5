#!/usr/bin/env python3
"""Test helper for the curl example: accepts every POST and saves the raw body and the iLive
headers to DIR/<n>.body and DIR/<n>.headers, so verify_webhook.sh can check them afterwards.
Usage: PORT=... python3 capture_receiver.py DIR
"""
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

OUT = sys.argv[1]
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count += 1
        with open(os.path.join(OUT, f"{count}.body"), "wb") as f:
            f.write(body)
        with open(os.path.join(OUT, f"{count}.headers"), "w") as f:
            f.write(self.headers.get("X-iLive-Timestamp", "") + "\n")
            f.write(self.headers.get("X-iLive-Signature", "") + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
