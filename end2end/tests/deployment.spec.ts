// What a deployment meets beyond the happy path: the way back to the integrator from every
// screen that ends a managed session without a verdict (a lost connection, a used link, an
// expired link), and a standalone frontend on another origin creating a direct session (CORS)
// while the keyed routes stay closed to browsers.
import { test, expect, Page } from '@playwright/test';
import { serveFrontend } from '../frontend-server';
import {
  clip, createManaged, env, followFlow, launch, launchFollowing, Shots, startFromWelcome, startIntegrator, ui,
} from './support';

/** Checks the screen's "Back to the site" link, follows it, and checks where it lands. */
async function followWayBack(page: Page, landingOrigin: string, sessionId: string, status: string) {
  const link = page.getByRole('link', { name: ui.backToSite });
  await expect(link).toBeVisible();
  await link.click();
  await page.waitForURL((u) => u.origin === landingOrigin, { timeout: 20_000 });
  const landed = new URL(page.url());
  expect(landed.searchParams.get('order')).toBe('42');
  expect(landed.searchParams.get('session_id')).toBe(sessionId);
  expect(landed.searchParams.get('status')).toBe(status);
}

test('managed session, connection lost mid-capture: the way back, with status', async () => {
  const integrator = await startIntegrator();
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('way-back-connection-lost');
  try {
    const { page } = browser;
    const s = await createManaged({ mode: 'active', redirect_url: integrator.redirectUrl, locale: 'en' });
    // The capture socket passes through the test, which drops it a moment after `ready`.
    await page.routeWebSocket(/\/api\/v1\/session\/.*\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        ws.send(m);
        if (typeof m === 'string' && m.includes('"type":"ready"')) {
          setTimeout(() => { ws.close({ code: 1011, reason: 'network gone' }); server.close(); }, 1_500);
        }
      });
    });
    await page.goto(s.session_url);
    await startFromWelcome(page, shots);
    await expect(page.getByRole('heading', { name: ui.connectionLost })).toBeVisible({ timeout: 30_000 });
    await shots.take(page, 'connection-lost');
    await followWayBack(page, integrator.landingOrigin, s.session_id, 'interrupted');
  } finally {
    await browser.close();
    await integrator.close();
  }
});

test('managed session, link used a second time: the way back, with status', async () => {
  const integrator = await startIntegrator();
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('way-back-used');
  try {
    const { page } = browser;
    const s = await createManaged({ mode: 'active', redirect_url: integrator.redirectUrl, locale: 'en' });
    await page.goto(s.session_url);
    await startFromWelcome(page, shots);
    await expect(page.locator('.prompt .prompt-main')).toBeVisible({ timeout: 30_000 });
    const second = await browser.ctx.newPage();
    await second.goto(s.session_url);
    await expect(second.getByRole('heading', { name: ui.used })).toBeVisible();
    await shots.take(second, 'used');
    await followWayBack(second, integrator.landingOrigin, s.session_id, 'already_used');
  } finally {
    await browser.close();
    await integrator.close();
  }
});

test('managed session, expired link: the way back, with status', async () => {
  const integrator = await startIntegrator();
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('way-back-expired');
  try {
    const { page } = browser;
    // This server's sessions live 3 s, and its sweeper runs every second: by the visit the
    // session is a tombstone, which keeps the way back.
    const s = await createManaged(
      { mode: 'active', redirect_url: integrator.redirectUrl, locale: 'en' },
      { base: env.shortTtl, key: env.shortApiKey },
    );
    await page.waitForTimeout(5_000);
    await page.goto(s.session_url);
    await expect(page.getByRole('heading', { name: ui.expired })).toBeVisible();
    await shots.take(page, 'expired');
    await followWayBack(page, integrator.landingOrigin, s.session_id, 'expired');
  } finally {
    await browser.close();
    await integrator.close();
  }
});

/** From the page's origin: create a direct session, read its result, and try a keyed route. */
async function callFromPage(page: Page, base: string) {
  return page.evaluate(async (base) => {
    const out: Record<string, unknown> = {};
    try {
      const r = await fetch(`${base}/api/v1/session`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'passive' }),
      });
      const created = await r.json();
      out.created = r.status;
      out.remaining = r.headers.get('x-ratelimit-remaining');
      const res = await fetch(`${base}/api/v1/session/${created.session_id}/result?token=${created.token}`);
      out.result = (await res.json()).status;
    } catch (e) {
      out.created = `blocked: ${e}`;
    }
    try {
      await fetch(`${base}/api/v1/managed-session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer iksk_from_a_browser' },
        body: '{}',
      });
      out.keyed = 'reachable';
    } catch {
      out.keyed = 'blocked';
    }
    return out;
  }, base);
}

test('a standalone frontend on an allowed origin creates a direct session; keyed routes and other origins are refused', async () => {
  // The allowed origin's frontend runs for the whole run (global-setup.ts); this one, on an
  // origin the server does not allow, for this test.
  const other = await serveFrontend();
  const browser = await launch(null);
  try {
    const { page } = browser;
    await page.goto(`${env.corsOrigin}/`);
    const out = await callFromPage(page, env.base);
    expect(out, JSON.stringify(out)).toMatchObject({ created: 201, result: 'created', keyed: 'blocked' });
    // The rate-limit headers are exposed to the page.
    expect(out.remaining).toMatch(/^\d+$/);

    await page.goto(`${other.origin}/`);
    const refused = await callFromPage(page, env.base);
    expect(String(refused.created)).toMatch(/^blocked/);
    expect(refused.keyed).toBe('blocked');
  } finally {
    await browser.close();
    await new Promise((r) => other.server.close(r));
  }
});

test('through the TLS reverse proxy (deploy/nginx.conf): demo session passes over wss; the forwarded address is the proxy\'s', async () => {
  const proxy = process.env.E2E_PROXY_URL!;
  const limit = Number(process.env.E2E_PROXIED_RATE_LIMIT);
  const browser = await launchFollowing('live_obama', { ignoreHttpsErrors: true });
  const shots = new Shots('proxy');
  try {
    const { page } = browser;
    await page.goto(`${proxy}/`);
    const start = page.getByRole('button', { name: ui.demoStart });
    await expect(start).toBeEnabled({ timeout: 30_000 });
    const socket = page.waitForEvent('websocket');
    await start.click();
    expect((await socket).url()).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:${new URL(proxy).port}/`));
    const flow = await followFlow(page, shots);
    expect(flow.outcome, `${JSON.stringify(flow)}\n${browser.log.join('\n')}`).toBe(ui.pass);

    // A client cannot buy itself fresh rate-limit buckets with a forged X-Forwarded-For: the
    // server counts the address nginx appended (one trusted proxy), the same for every request.
    // The window is a fixed minute, so first make sure the burst below cannot straddle its turn.
    const counts = await page.evaluate(async (n) => {
      const create = (forged: string) =>
        fetch('/api/v1/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forged },
          body: '{}',
        });
      const first = await create('198.51.100.1');
      const reset = Number(first.headers.get('x-ratelimit-reset') ?? first.headers.get('retry-after'));
      if (reset < 5) await new Promise((r) => setTimeout(r, (reset + 1) * 1000));
      const out: { status: number; remaining: string | null }[] = [];
      for (let i = 0; i < n; i++) {
        const r = await create(`203.0.113.${i + 1}`);
        out.push({ status: r.status, remaining: r.headers.get('x-ratelimit-remaining') });
      }
      return out;
    }, limit + 1);
    // Forged addresses would each get a fresh bucket (never a 429, `remaining` the same every
    // time); one bucket counts down to a refusal within `limit + 1` requests of one window.
    const created = counts.filter((c) => c.status === 201);
    expect(counts.map((c) => c.status), JSON.stringify(counts)).toContain(429);
    const remaining = created.map((c) => Number(c.remaining));
    expect(remaining, JSON.stringify(counts)).toEqual([...remaining].sort((a, b) => b - a));
    expect(new Set(remaining).size, JSON.stringify(counts)).toBe(remaining.length);
  } finally {
    await browser.close();
  }
});
