// Receive iLive webhooks and verify their signature (Node, built-in http and crypto only).
//
// Environment: ILIVE_WEBHOOK_SECRET (whsec_...), PORT (default 8000).
// Checks the timestamp is within 300 s of now and that
// X-iLive-Signature == "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<raw body>")),
// compared in constant time; otherwise 401. Idempotent on session_id (deliveries may repeat).
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const SECRET = process.env.ILIVE_WEBHOOK_SECRET;
const TOLERANCE_S = 300;
const seenSessions = new Set(); // use your database in production

function verify(timestamp, signature, rawBody) {
  if (!/^\d+$/.test(timestamp || "")) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const mac = createHmac("sha256", SECRET);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  const expected = Buffer.from(`sha256=${mac.digest("hex")}`);
  const given = Buffer.from(signature || "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks); // verify the raw bytes, not re-serialised JSON
    if (req.method !== "POST" || !verify(req.headers["x-ilive-timestamp"], req.headers["x-ilive-signature"], raw)) {
      console.log("rejected: bad signature or timestamp");
      res.writeHead(401).end();
      return;
    }
    const payload = JSON.parse(raw);
    if (seenSessions.has(payload.session_id)) {
      console.log(`duplicate ${payload.session_id}`);
    } else {
      seenSessions.add(payload.session_id);
      console.log(`verified ${JSON.stringify(payload)}`);
      // Act on payload.verdict here: "pass", "fail" or "retry".
    }
    res.writeHead(200).end();
  });
}).listen(Number(process.env.PORT || 8000), "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${process.env.PORT || 8000}`);
});
