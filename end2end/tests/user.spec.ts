// What a person meets outside the managed happy path: the demo page's direct session, a blocked
// camera, a capture link opened twice, an expired link.
import { test, expect } from '@playwright/test';
import {
  clip, createDirect, env, followFlow, launch, launchFollowing, result, Shots, startFromWelcome, ui,
} from './support';

test('demo page: direct active session passes and shows the API result with the photo', async () => {
  const browser = await launchFollowing('live_obama');
  const shots = new Shots('demo');
  try {
    const { page } = browser;
    await page.goto(`${env.base}/`);
    await expect(page.getByRole('heading', { name: 'iLive demo' })).toBeVisible();
    await expect(page.getByRole('radio', { name: /Active/ })).toBeChecked();
    const start = page.getByRole('button', { name: ui.demoStart });
    await expect(start).toBeEnabled({ timeout: 30_000 });
    await shots.take(page, 'home');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST');
    await start.click();
    const resp = await created;
    expect(resp.status()).toBe(201);
    const s = await resp.json();
    expect(s.mode).toBe('active');

    const flow = await followFlow(page, shots);
    expect(flow.outcome, `${JSON.stringify(flow)}\n${browser.log.join('\n')}`).toBe(ui.pass);
    expect(flow.prompts.length).toBeGreaterThanOrEqual(3);

    // The demo shows the full result, as the API returns it, with the portrait.
    const results = page.locator('section.results');
    await expect(results.locator('.badge')).toHaveText('pass', { timeout: 30_000 });
    const img = results.locator('img.photo');
    await expect(img).toBeVisible({ timeout: 30_000 });
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => [el.naturalWidth, el.naturalHeight]))
      .toEqual([480, 600]);
    await shots.take(page, 'results');

    const r = await result(s.session_id, s.token);
    expect(r).toMatchObject({ status: 'completed', mode: 'active', verdict: 'pass', photo_available: true });
  } finally {
    await browser.close();
  }
});

test('camera permission denied: its own screen, with a way to try again', async () => {
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('camera-denied');
  try {
    const { page } = browser;
    // As when the person (or a policy) blocks the camera: getUserMedia rejects with NotAllowedError.
    await page.addInitScript(() => {
      const md = navigator.mediaDevices;
      if (md) md.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    const s = await createDirect(env.base, 'active');
    await page.goto(s.session_url);
    await startFromWelcome(page, shots);
    await expect(page.getByRole('heading', { name: ui.camDenied })).toBeVisible();
    await expect(page.getByRole('button', { name: ui.retryCamera })).toBeVisible();
    await shots.take(page, 'denied');
    // No capture happened: the session was never started.
    const r = await result(s.session_id, s.token);
    expect(r.status).toBe('created');
  } finally {
    await browser.close();
  }
});

test('capture link used a second time: refused', async () => {
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('link-reused');
  try {
    const { page } = browser;
    const s = await createDirect(env.base, 'active');
    await page.goto(s.session_url);
    await startFromWelcome(page, shots);
    // The capture link has opened the verification: a challenge is on screen.
    await expect(page.locator('.prompt .prompt-main')).toBeVisible({ timeout: 30_000 });
    await shots.take(page, 'first-use');

    const second = await browser.ctx.newPage();
    await second.goto(s.session_url);
    await expect(second.getByRole('heading', { name: ui.used })).toBeVisible();
    await expect(second.getByRole('button', { name: ui.start })).toHaveCount(0);
    await shots.take(second, 'second-use');
    expect(['in_progress', 'completed']).toContain((await result(s.session_id, s.token)).status);
  } finally {
    await browser.close();
  }
});

test('expired session: its page', async () => {
  const browser = await launch(clip('live_obama'));
  const shots = new Shots('expired');
  try {
    const { page } = browser;
    const s = await createDirect(env.shortTtl, 'active'); // this server's sessions live 3 s
    await page.waitForTimeout(4_500);
    await page.goto(s.session_url);
    await expect(page.getByRole('heading', { name: ui.expired })).toBeVisible();
    await expect(page.getByRole('button', { name: ui.start })).toHaveCount(0);
    await shots.take(page, 'expired');
    const r = await fetch(`${env.shortTtl}/api/v1/session/${s.session_id}/result?token=${s.token}`);
    const body = await r.json();
    // Either answer says expired: 200 with status "expired", or 410 session_expired.
    expect(r.status === 410 ? body.detail.code : body.status).toMatch(/expired/);
  } finally {
    await browser.close();
  }
});
