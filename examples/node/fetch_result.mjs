// Fetch a session's result and, when the verdict is `pass`, its photo.
// Usage: ILIVE_URL=... node fetch_result.mjs SESSION_ID TOKEN [photo.jpg]
import { writeFileSync } from "node:fs";

const base = process.env.ILIVE_URL.replace(/\/+$/, "");
const [sessionId, token, photoPath = "photo.jpg"] = process.argv.slice(2);
const q = `?token=${encodeURIComponent(token)}`;

const res = await fetch(`${base}/api/v1/session/${sessionId}/result${q}`);
if (res.status !== 200) {
  console.error(`result: error ${res.status}: ${await res.text()}`);
  process.exit(1);
}
const result = await res.json();
console.log(`status=${result.status}`);
if (result.status === "completed") {
  console.log(`verdict=${result.verdict}`);
  console.log(`confidence=${result.confidence}`);
  console.log(`reasons=${(result.reasons || []).join(",")}`);

  const photo = await fetch(`${base}/api/v1/session/${sessionId}/photo${q}`);
  if (photo.status === 200) {
    const bytes = Buffer.from(await photo.arrayBuffer());
    writeFileSync(photoPath, bytes);
    console.log(`photo=saved ${photoPath} (${bytes.length} bytes)`);
  } else if (photo.status === 202) {
    console.log(`photo=pending, retry after ${photo.headers.get("retry-after") || 1} s`);
  } else {
    const err = await photo.json();
    console.log(`photo=unavailable ${photo.status} ${err.detail?.code}`);
  }
}
// status "created" / "in_progress": ask again later, or wait for the webhook.
