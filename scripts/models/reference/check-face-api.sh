#!/usr/bin/env bash
# Optional cross-check: runs face-api's own FaceRecognitionNet (its unbundled ESM build) on the
# reference runtime's tfjs and compares it with the descriptors that reference.js wrote.
# Needs a finished run.sh. face-api's ESM build imports tfjs's ESM entry points, which Node
# cannot load as they are, so a temporary folder gets a copy of the build whose three tfjs
# imports point at small shims re-exporting tfjs's CommonJS builds (the WASM backend, unused
# here, is replaced by a stub).
source "$(dirname "$0")/../../lib.sh"

node_dir="$ILIVE_CACHE/reference-node"
faceapi="$ILIVE_CACHE/npm/face-api-1.7.15/package"
ref="$ILIVE_FIXTURES_DIR/reference/face_recognition.safetensors"
[ -d "$node_dir/node_modules" ] && [ -s "$ref" ] || die "run scripts/models/reference/run.sh first"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ln -s "$node_dir/node_modules" "$tmp/node_modules"
(cd "$tmp" && node -e '
const fs = require("fs");
for (const [name, file] of [["@tensorflow/tfjs", "shim-tfjs.mjs"], ["@tensorflow/tfjs-backend-webgl", "shim-webgl.mjs"]]) {
  const keys = Object.keys(require(name)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default");
  fs.writeFileSync(file, `import { createRequire } from "module";\nconst m = createRequire(import.meta.url)("${name}");\n`
    + keys.map((k) => `export const ${k} = m.${k};`).join("\n") + "\n");
}
fs.writeFileSync("shim-wasm.mjs", "export const version_wasm = \"not loaded\";\n");')
sed -e 's#"@tensorflow/tfjs/dist/index.js"#"./shim-tfjs.mjs"#' \
    -e 's#"@tensorflow/tfjs-backend-webgl/dist/index.js"#"./shim-webgl.mjs"#' \
    -e 's#"@tensorflow/tfjs-backend-wasm/dist/index.js"#"./shim-wasm.mjs"#' \
    "$faceapi/dist/face-api.esm-nobundle.js" > "$tmp/face-api.mjs"
cp "$(dirname "$0")/check-face-api.mjs" "$tmp/check.mjs"
node "$tmp/check.mjs" "$tmp/face-api.mjs" "$faceapi/model" "$ref"
