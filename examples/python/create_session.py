#!/usr/bin/env python3
"""Create a managed iLive liveness session (Python standard library only).

Environment:
  ILIVE_URL       base URL of your iLive server, e.g. https://liveness.example.com
  ILIVE_API_KEY   your tenant API key (iksk_...)
  REDIRECT_URL    where the user's browser goes when the check is done (https)
  WEBHOOK_URL     optional: where iLive POSTs the signed verdict

Prints session_id, token and session_url, one `key=value` per line. Send the user to
session_url; keep session_id and token on your backend (never give the token to the browser).
"""
import json
import os
import sys
import urllib.error
import urllib.request


def main():
    base = os.environ["ILIVE_URL"].rstrip("/")
    body = {"redirect_url": os.environ["REDIRECT_URL"], "mode": os.environ.get("MODE", "active")}
    if os.environ.get("WEBHOOK_URL"):
        body["webhook_url"] = os.environ["WEBHOOK_URL"]
    if os.environ.get("REFERENCE_ID"):
        body["reference_id"] = os.environ["REFERENCE_ID"]
    req = urllib.request.Request(
        base + "/api/v1/managed-session",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": "Bearer " + os.environ["ILIVE_API_KEY"],
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            session = json.load(resp)
    except urllib.error.HTTPError as e:
        err = json.load(e).get("detail", {})
        sys.exit(f"error {e.code}: {err.get('code')}: {err.get('message')}")
    print("session_id=" + session["session_id"])
    print("token=" + session["token"])
    print("session_url=" + session["session_url"])


if __name__ == "__main__":
    main()
