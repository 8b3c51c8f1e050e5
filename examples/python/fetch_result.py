#!/usr/bin/env python3
"""Fetch a session's result and, when the verdict is `pass`, its photo.

Usage: ILIVE_URL=... python3 fetch_result.py SESSION_ID TOKEN [photo.jpg]
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    base = os.environ["ILIVE_URL"].rstrip("/")
    session_id, token = sys.argv[1], sys.argv[2]
    photo_path = sys.argv[3] if len(sys.argv) > 3 else "photo.jpg"
    q = "?token=" + urllib.parse.quote(token)

    status, _, body = get(f"{base}/api/v1/session/{session_id}/result{q}")
    if status != 200:
        sys.exit(f"result: error {status}: {body.decode(errors='replace')}")
    result = json.loads(body)
    print("status=" + result["status"])
    if result["status"] != "completed":
        return  # still running: ask again later (or wait for the webhook)
    print("verdict=" + result["verdict"])
    print("confidence=" + str(result.get("confidence")))
    print("reasons=" + ",".join(result.get("reasons") or []))

    status, headers, body = get(f"{base}/api/v1/session/{session_id}/photo{q}")
    if status == 200:
        with open(photo_path, "wb") as f:
            f.write(body)
        print(f"photo=saved {photo_path} ({len(body)} bytes)")
    elif status == 202:
        print("photo=pending, retry after " + headers.get("Retry-After", "1") + " s")
    else:
        code = json.loads(body).get("detail", {}).get("code")
        print(f"photo=unavailable {status} {code}")


if __name__ == "__main__":
    main()
