// What the scenarios share: a browser whose fake camera plays one clip, screenshots of every
// screen, the integrator's side (API calls, an HTTPS webhook receiver, a redirect landing page),
// and small checks (HMAC signature, JPEG size).
import { chromium, expect, BrowserContext, Page } from '@playwright/test';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

export const env = {
  get base() { return must('E2E_BASE_URL'); },
  get shortTtl() { return must('E2E_SHORT_TTL_URL'); },
  get apiKey() { return must('E2E_API_KEY'); },
  get shortApiKey() { return must('E2E_SHORT_API_KEY'); },
  /** The origin of a standalone frontend that the main server allows (ILIVE_CORS_ORIGINS). */
  get corsOrigin() { return must('E2E_CORS_ORIGIN'); },
  get secret() { return must('E2E_WEBHOOK_SECRET'); },
};
function must(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: the global set-up did not run`);
  return v;
}

const clipsDir = process.env.ILIVE_CLIPS_DIR
  || path.join(process.env.ILIVE_FIXTURES_DIR || path.join(os.homedir(), '.cache/ilive/fixtures'), 'clips');
export function clip(name: string): string {
  const f = path.join(clipsDir, `${name}.y4m`);
  if (!fs.existsSync(f)) throw new Error(`no clip ${f}: run scripts/fixtures/make-clips.sh`);
  return f;
}

/** A clip's frame folder, with the action segments `ilive-clips` wrote in its clip.json. */
function clipFrames(name: string) {
  const dir = path.join(clipsDir, name);
  const meta = path.join(dir, 'clip.json');
  if (!fs.existsSync(meta)) throw new Error(`no clip ${dir}: run scripts/fixtures/make-clips.sh`);
  const json = JSON.parse(fs.readFileSync(meta, 'utf8'));
  const frames = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort();
  const segments: Record<string, number[]> = {};
  for (const s of (json.segments || []) as Array<{ action: string; start: number; len: number }>) {
    const list = segments[s.action] || (segments[s.action] = []);
    for (let i = s.start; i < s.start + s.len; i += 1) list.push(i);
  }
  return { dir, frames, segments, fps: Number(json.spec?.fps || 15) };
}

export const screenshotsDir = path.join(__dirname, '..', 'screenshots');

// The UI's English strings (app/src/i18n.rs).
export const ui = {
  start: 'Start',
  demoStart: 'Start a demo session',
  analyzing: 'Analyzing…',
  pass: "You're verified",
  fail: "We couldn't verify you",
  retry: "Let's try that again",
  noFace: "We can't see your face",
  light: 'Keep still: the screen will change colour for a few seconds.',
  camDenied: 'Camera access is blocked',
  retryCamera: 'Try the camera again',
  used: 'This link was already used',
  expired: 'This link has expired',
  redirecting: 'Taking you back in',
  managedRetry: 'To try again, go back to the site that sent you here',
  connectionLost: 'Connection lost',
  backToSite: 'Back to the site',
};

export interface Browser { ctx: BrowserContext; page: Page; log: string[]; close(): Promise<void> }

/** A fresh persistent Chromium whose fake camera plays `video` (or none, with `camera: false`). */
export async function launch(
  video: string | null, opts: { fakeUi?: boolean; ignoreHttpsErrors?: boolean } = {},
): Promise<Browser> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ilive-e2e-profile-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (opts.fakeUi !== false) args.push('--use-fake-ui-for-media-stream');
  args.push('--use-fake-device-for-media-stream');
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    args,
    viewport: { width: 420, height: 900 },
    locale: 'en-US',
    // Only for the TLS proxy's test certificate (end2end/global-setup.ts).
    ignoreHTTPSErrors: opts.ignoreHttpsErrors ?? false,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    const p = String(f.payload);
    if (!p.includes('"type":"face"')) log.push(`[ws<] ${p.slice(0, 300)}`);
  }));
  return {
    ctx, page, log,
    async close() {
      await ctx.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh Chromium whose camera follows the prompts, as a person does: the page's getUserMedia
 * returns a canvas stream that shows the clip's neutral frames (back and forth) and, 0.5 s after
 * each challenge prompt the server sends, that action's frames once. The page and the server
 * are unchanged; only the camera is the test's.
 */
export async function launchFollowing(
  name: string, opts: { reactionMs?: number; answersLight?: boolean; ignoreHttpsErrors?: boolean } = {},
): Promise<Browser> {
  return launchCanvas(name, {
    reactionMs: opts.reactionMs ?? 500, loop: false, answersLight: opts.answersLight ?? true,
    ignoreHttpsErrors: opts.ignoreHttpsErrors ?? false,
  });
}

/**
 * A fresh Chromium whose camera plays the clip in a loop, whatever is asked, through the same
 * canvas stream (so that the camera's label is not the file's path, which is an injection finding
 * of its own): a recording held up to the camera, or a person moving about without prompts.
 */
export async function launchLooping(name: string): Promise<Browser> {
  return launchCanvas(name, { reactionMs: 0, loop: true, answersLight: true, ignoreHttpsErrors: false });
}

/**
 * Both canvas cameras answer the page's screen-light challenge as the filmed scene would: each
 * frame drawn while the page paints a colour around the oval is lit by that colour through the
 * clip's gain map (`light_NNNN.png` from `ilive-clips`: a head's normals, a print's flat sheet, a
 * screen's glass), the forward model of `models::light::relight`, auto-exposure included. With
 * `answersLight: false` the camera ignores the light, as an injected stream does.
 */
async function launchCanvas(
  name: string,
  opts: { reactionMs: number; loop: boolean; answersLight: boolean; ignoreHttpsErrors: boolean },
): Promise<Browser> {
  const c = clipFrames(name);
  const b = await launch(null, { ignoreHttpsErrors: opts.ignoreHttpsErrors });
  await b.ctx.route('**/__e2e_camera/**', async (route) => {
    const file = decodeURIComponent(new URL(route.request().url()).pathname.split('/').pop() || '');
    if (file === 'clip.json') {
      return route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ count: c.frames.length, segments: c.segments, fps: c.fps }),
      });
    }
    const light = file.startsWith('light_');
    const i = Number(file.replace(/^light_/, '').replace(/\.(jpg|png)$/, ''));
    if (!Number.isInteger(i) || i < 0 || i >= c.frames.length) return route.fulfill({ status: 404 });
    if (light) {
      const gains = path.join(c.dir, `light_${String(i).padStart(4, '0')}.png`);
      if (!fs.existsSync(gains)) return route.fulfill({ status: 404 });
      return route.fulfill({ contentType: 'image/png', body: fs.readFileSync(gains) });
    }
    return route.fulfill({ contentType: 'image/jpeg', body: fs.readFileSync(path.join(c.dir, c.frames[i])) });
  });
  await b.ctx.addInitScript(({ reactionMs, loop, answersLight }) => {
    const w = window as any;
    const devices = navigator.mediaDevices as any;
    if (!devices) return;
    // Watch the server's prompts on the page's own socket.
    let play: (kind: string) => void = () => {};
    const Native = window.WebSocket;
    w.WebSocket = function (url: string, protocols?: string | string[]) {
      const ws = new Native(url, protocols);
      let asked = -1;
      ws.addEventListener('message', (ev: MessageEvent) => {
        if (typeof ev.data !== 'string') return;
        try {
          const m = JSON.parse(ev.data);
          if (m.type === 'challenge' && m.index !== asked) {
            asked = m.index;
            setTimeout(() => play(m.kind), reactionMs);
          } else if (m.type === 'challenge_passed' || m.type === 'analyzing' || m.type === 'verdict') {
            play('');
          }
        } catch { /* not JSON */ }
      });
      return ws;
    } as any;
    w.WebSocket.prototype = Native.prototype;
    Object.assign(w.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    devices.getUserMedia = async () => {
      const meta = await (await fetch('/__e2e_camera/clip.json')).json();
      const images: ImageBitmap[] = await Promise.all(
        Array.from({ length: meta.count }, async (_, i) =>
          createImageBitmap(await (await fetch(`/__e2e_camera/${i}.jpg`)).blob())));
      const gains: Array<ImageBitmap | null> = answersLight
        ? await Promise.all(Array.from({ length: meta.count }, async (_, i) => {
          const r = await fetch(`/__e2e_camera/light_${i}.png`);
          return r.ok ? createImageBitmap(await r.blob()) : null;
        }))
        : [];
      const canvas = document.createElement('canvas');
      canvas.width = images[0].width;
      canvas.height = images[0].height;
      const g = canvas.getContext('2d', { willReadFrequently: true })!;
      const scratch = document.createElement('canvas');
      scratch.width = canvas.width;
      scratch.height = canvas.height;
      const sg = scratch.getContext('2d', { willReadFrequently: true })!;
      // Indoor light at arm's length (`ilive eval`'s INDOOR_STRENGTH) and the models' constants.
      const STRENGTH = 0.2;
      const SPECULAR_ALBEDO = 0.05;
      const toLinear = Array.from({ length: 256 }, (_, v) => {
        const c = v / 255;
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      });
      const toSrgb = (v: number) => {
        const x = Math.min(1, Math.max(0, v));
        return 255 * (x <= 0.0031308 ? x * 12.92 : 1.055 * Math.pow(x, 1 / 2.4) - 0.055);
      };
      // The colour the page paints around the oval now, in linear RGB, if any.
      const painted = (): number[] | null => {
        const el = document.querySelector('.light-field.on');
        const m = el && getComputedStyle(el).backgroundColor.match(/\d+(\.\d+)?/g);
        return m && m.length >= 3 ? m.slice(0, 3).map((v) => toLinear[Math.round(Number(v))]) : null;
      };
      const relight = (i: number, colour: number[]) => {
        const gain = gains[i];
        if (!gain) return;
        sg.drawImage(gain, 0, 0);
        const gd = sg.getImageData(0, 0, canvas.width, canvas.height).data;
        const frame = g.getImageData(0, 0, canvas.width, canvas.height);
        const px = frame.data;
        const lit = new Float32Array((px.length / 4) * 3);
        let before = 0;
        let after = 0;
        for (let p = 0, q = 0; p < px.length; p += 4, q += 3) {
          const d = gd[p] / 255;
          const sp = gd[p + 1] / 255;
          for (let k = 0; k < 3; k += 1) {
            const v = toLinear[px[p + k]];
            lit[q + k] = v * (1 + STRENGTH * d * colour[k]) + STRENGTH * sp * colour[k] * SPECULAR_ALBEDO;
          }
          before += 0.2126 * toLinear[px[p]] + 0.7152 * toLinear[px[p + 1]] + 0.0722 * toLinear[px[p + 2]];
          after += 0.2126 * lit[q] + 0.7152 * lit[q + 1] + 0.0722 * lit[q + 2];
        }
        const exposure = after > 0 ? before / after : 1;
        for (let p = 0, q = 0; p < px.length; p += 4, q += 3) {
          for (let k = 0; k < 3; k += 1) px[p + k] = toSrgb(lit[q + k] * exposure);
        }
        g.putImageData(frame, 0, 0);
      };
      const neutral: number[] = meta.segments.neutral || [];
      const period = 2 * (neutral.length - 1);
      let n = 0;
      let queue: number[] = [];
      // A person whose prompt is still on screen does the action again after a short pause (the
      // page has not said "done"); an acknowledged prompt (or the end) stops it. Without this a
      // single play of a short segment is all the server gets, and a frame dropped under load
      // (two cores running Chromium, a proxy and the server) can cost the whole challenge.
      let action: number[] = [];
      let pause = 0;
      const pauseFrames = Math.max(1, Math.round((reactionMs / 1000) * meta.fps));
      if (!loop) {
        play = (kind: string) => {
          action = (meta.segments[kind] || []).slice();
          queue = action.slice();
          pause = 0;
        };
      }
      const draw = () => {
        if (!queue.length && action.length && (pause += 1) > pauseFrames) {
          queue = action.slice();
          pause = 0;
        }
        const k = n % Math.max(period, 1);
        const i = queue.length ? queue.shift()!
          : loop || neutral.length < 2 ? n % meta.count
          : neutral[k < neutral.length ? k : period - k];
        n += 1;
        g.drawImage(images[i], 0, 0);
        const colour = answersLight ? painted() : null;
        if (colour) relight(i, colour);
      };
      draw();
      setInterval(draw, 1000 / meta.fps);
      const stream = canvas.captureStream(meta.fps);
      // A canvas track is labelled with a random id, which may begin with `/` and so read as a
      // file-fed camera (an injection finding of its own): give it a camera's name, as a real
      // device has, so that only the physical cues decide.
      for (const t of stream.getVideoTracks()) {
        Object.defineProperty(t, 'label', { value: 'e2e canvas camera', configurable: true });
      }
      return stream;
    };
  }, opts);
  return b;
}

/** Saves a full-page screenshot as screenshots/<scenario>-<NN>-<name>.png. */
export class Shots {
  private n = 0;
  constructor(private scenario: string) { fs.mkdirSync(screenshotsDir, { recursive: true }); }
  async take(page: Page, name: string) {
    this.n += 1;
    const file = path.join(screenshotsDir, `${this.scenario}-${String(this.n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  }
}

/**
 * Follows the capture flow until it ends (an outcome or a problem), photographing each new screen:
 * the camera guide, each challenge prompt, an on-screen hint, analysing, the outcome. Returns the
 * prompts and hints seen.
 */
export async function followFlow(page: Page, shots: Shots, timeoutMs = 150_000) {
  const seen = { prompts: [] as string[], hints: [] as string[] };
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const state = await page.evaluate(() => {
      const txt = (s: string) => document.querySelector(s)?.textContent?.trim() || '';
      return {
        outcome: txt('.outcome h1') || txt('.problem h1'),
        prompt: txt('.prompt .prompt-main'),
        hint: txt('.preview .hint'),
        overlay: txt('.preview .overlay .big'),
        capture: !!document.querySelector('.capture'),
      };
    }).catch(() => null); // navigating away (managed redirect)
    if (!state) { await page.waitForTimeout(200); continue; }
    if (state.prompt && !seen.prompts.includes(state.prompt)) seen.prompts.push(state.prompt);
    if (state.hint && !seen.hints.includes(state.hint)) seen.hints.push(state.hint);
    const key = state.outcome ? `outcome:${state.outcome}`
      : state.overlay ? `overlay:${state.overlay}`
      : state.prompt || state.hint ? `prompt:${state.prompt} hint:${state.hint}`
      : state.capture ? 'capture' : '';
    if (key && key !== last) {
      last = key;
      const name = key.replace(/ hint:$/, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase().replace(/^-|-$/g, '').slice(0, 80);
      await shots.take(page, name);
    }
    if (state.outcome) return { ...seen, outcome: state.outcome };
    await page.waitForTimeout(250);
  }
  throw new Error(`the flow did not end in ${timeoutMs / 1000} s; saw ${JSON.stringify(seen)}`);
}

/** The welcome screen, then Start once the page has hydrated. */
export async function startFromWelcome(page: Page, shots: Shots) {
  const start = page.getByRole('button', { name: ui.start, exact: true });
  await expect(start).toBeEnabled({ timeout: 30_000 });
  await shots.take(page, 'welcome');
  await start.click();
}

// ---- The integrator's side ----

export interface Created { session_id: string; session_url: string; token: string; mode: string; expires_at: string }

export async function createManaged(
  body: Record<string, unknown>, server = { base: env.base, key: env.apiKey },
): Promise<Created> {
  const r = await fetch(`${server.base}/api/v1/managed-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  expect(r.status, text).toBe(201);
  return JSON.parse(text);
}

export async function createDirect(base: string, mode: string): Promise<Created> {
  const r = await fetch(`${base}/api/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }),
  });
  const text = await r.text();
  expect(r.status, text).toBe(201);
  return JSON.parse(text);
}

export async function result(id: string, token: string, base = env.base) {
  const r = await fetch(`${base}/api/v1/session/${id}/result?token=${encodeURIComponent(token)}`);
  expect(r.status).toBe(200);
  return r.json() as Promise<Record<string, any>>;
}

/** The photo once it is made (202 while it is being made). */
export async function photo(id: string, token: string): Promise<{ status: number; type: string; body: Buffer }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`${env.base}/api/v1/session/${id}/photo?token=${encodeURIComponent(token)}`);
    const body = Buffer.from(await r.arrayBuffer());
    if (r.status !== 202 || Date.now() > deadline) {
      return { status: r.status, type: r.headers.get('content-type') || '', body };
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Width and height from a JPEG's start-of-frame marker. */
export function jpegSize(buf: Buffer): { width: number; height: number } {
  if (buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)');
  let i = 2;
  while (i + 9 < buf.length) {
    if (buf[i] !== 0xff) { i += 1; continue; }
    const marker = buf[i + 1];
    if (marker === 0xff) { i += 1; continue; }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    const len = buf.readUInt16BE(i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error('no SOF marker in the JPEG');
}

export interface Hook { headers: http.IncomingHttpHeaders; raw: string; json: any }

/**
 * The integrator's receiver on loopback: HTTPS for webhooks (certificate from the global set-up,
 * trusted by the server through --test-webhook-ca) and plain HTTP for the redirect landing page.
 */
export async function startIntegrator() {
  const hooks: Hook[] = [];
  const waiters: Array<() => void> = [];
  const hookServer = https.createServer({
    cert: fs.readFileSync(must('E2E_HOOK_CERT')),
    key: fs.readFileSync(must('E2E_HOOK_KEY')),
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: any = null;
      try { json = JSON.parse(raw); } catch { /* kept raw */ }
      hooks.push({ headers: req.headers, raw, json });
      waiters.splice(0).forEach((w) => w());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  const landing = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><title>Integrator</title><h1>Back at the integrator</h1><p id="url">${req.url}</p>`);
  });
  const listen = (s: http.Server | https.Server) => new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as any).port)));
  const hookPort = await listen(hookServer);
  const landingPort = await listen(landing);
  return {
    webhookUrl: `https://127.0.0.1:${hookPort}/hooks/ilive`,
    redirectUrl: `http://127.0.0.1:${landingPort}/verified?order=42`,
    landingOrigin: `http://127.0.0.1:${landingPort}`,
    hooks,
    async waitForHook(sessionId: string, timeoutMs = 60_000): Promise<Hook> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const h = hooks.find((x) => x.json?.session_id === sessionId);
        if (h) return h;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no webhook for ${sessionId} in ${timeoutMs / 1000} s (got ${hooks.length})`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, Math.min(left, 1000)); });
      }
    },
    async close() {
      await new Promise((r) => hookServer.close(r));
      await new Promise((r) => landing.close(r));
    },
  };
}

/** Checks X-iLive-Signature: sha256=HMAC-SHA256(secret, "<X-iLive-Timestamp>.<raw body>"). */
export function verifySignature(hook: Hook, secret: string) {
  const ts = String(hook.headers['x-ilive-timestamp'] || '');
  const sig = String(hook.headers['x-ilive-signature'] || '');
  expect(ts).toMatch(/^\d+$/);
  expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(300);
  expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
  const want = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${hook.raw}`).digest('hex');
  expect(crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want)), 'webhook signature').toBe(true);
  expect(String(hook.headers['x-ilive-webhook-id'] || '')).toMatch(/^[0-9a-f-]{36}$/);
}
