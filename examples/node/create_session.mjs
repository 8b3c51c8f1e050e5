// Create a managed iLive liveness session (Node >= 18, built-in fetch, no dependencies).
//
// Environment: ILIVE_URL, ILIVE_API_KEY (iksk_...), REDIRECT_URL, optional WEBHOOK_URL,
// REFERENCE_ID, MODE. Prints session_id, token and session_url as key=value lines.
// Send the user to session_url; keep session_id and token on your backend.
const base = process.env.ILIVE_URL.replace(/\/+$/, "");
const body = { redirect_url: process.env.REDIRECT_URL, mode: process.env.MODE || "active" };
if (process.env.WEBHOOK_URL) body.webhook_url = process.env.WEBHOOK_URL;
if (process.env.REFERENCE_ID) body.reference_id = process.env.REFERENCE_ID;

const res = await fetch(`${base}/api/v1/managed-session`, {
  method: "POST",
  headers: {
    Authorization: `Bearer ${process.env.ILIVE_API_KEY}`,
    "Content-Type": "application/json",
  },
  body: JSON.stringify(body),
});
const data = await res.json();
if (res.status !== 201) {
  console.error(`error ${res.status}: ${data.detail?.code}: ${data.detail?.message}`);
  process.exit(1);
}
console.log(`session_id=${data.session_id}`);
console.log(`token=${data.token}`);
console.log(`session_url=${data.session_url}`);
