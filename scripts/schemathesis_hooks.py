"""Schemathesis hooks for scripts/schemathesis.sh.

The OpenAPI document declares every uploaded part as `image/jpeg, image/png, image/webp`.
Schemathesis cannot make such images itself, so schema-valid uploads are drawn from real files:
a portrait with a face (from the test fixtures), and images without one.
"""
import os
from pathlib import Path

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.file_samples import FILE_SAMPLES

fixtures = Path(os.environ.get("ILIVE_FIXTURES_DIR", ""))
face = fixtures / "images" / "grace_hopper.jpg"
jpegs = [FILE_SAMPLES["jpg"]] + ([face.read_bytes()] if face.is_file() else [])

schemathesis.openapi.media_type("image/jpeg", st.sampled_from(jpegs))
schemathesis.openapi.media_type("image/png", st.just(FILE_SAMPLES["png"]))
schemathesis.openapi.media_type("image/webp", st.just(FILE_SAMPLES["webp"]))
