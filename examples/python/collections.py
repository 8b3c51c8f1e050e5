#!/usr/bin/env python3
"""Face collections from Python (standard library only): create a collection, enrol a photo
under your own id for the person, search with another photo (1:N), then delete the collection.

Usage: ILIVE_URL=... ILIVE_API_KEY=... python3 collections.py ENROL_PHOTO SEARCH_PHOTO [COLLECTION]

Only the face's descriptor and the external_id are stored, never the photo (docs/api.md,
"Collections"). Prints `enrolled=FACE_ID`, then one `match=EXTERNAL_ID SIMILARITY` per match.
"""
import json
import os
import sys
import urllib.error
import urllib.request
import uuid


def call(method, url, body=None, content_type=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", "Bearer " + os.environ["ILIVE_API_KEY"])
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def multipart(fields, image_path):
    """A multipart/form-data body with text `fields` and the file as `image`."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    with open(image_path, "rb") as f:
        image = f.read()
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + image + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def expect(what, status, body, wanted):
    if status != wanted:
        sys.exit(f"{what}: HTTP {status}: {body.decode(errors='replace')}")
    return json.loads(body) if body else None


def main():
    enrol_photo, search_photo = sys.argv[1], sys.argv[2]
    collection = sys.argv[3] if len(sys.argv) > 3 else "members"
    base = os.environ["ILIVE_URL"].rstrip("/") + "/api/v2/collections"

    body = json.dumps({"collection_id": collection}).encode()
    expect("create", *call("POST", base, body, "application/json"), 201)

    body, ctype = multipart({"external_id": "customer-42"}, enrol_photo)
    enrolled = expect("enrol", *call("POST", f"{base}/{collection}/faces", body, ctype), 201)
    print(f"enrolled={enrolled['face']['face_id']}")

    # The default operating point (fmr_1e-3) is strict; this example names the loosest one.
    body, ctype = multipart({"operating_point": "fmr_1e-2", "max_results": "5"}, search_photo)
    found = expect("search", *call("POST", f"{base}/{collection}/faces:search", body, ctype), 200)
    for m in found["matches"]:
        print(f"match={m['external_id']} {m['similarity']}")

    expect("delete", *call("DELETE", f"{base}/{collection}"), 204)


if __name__ == "__main__":
    main()
