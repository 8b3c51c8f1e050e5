// Managed sessions, as an integrator meets them: created with a tenant API key, the person sent to
// session_url, back at redirect_url with session_id, a signed webhook over HTTPS, then /result and
// /photo with the result token.
import { test, expect } from '@playwright/test';
import {
  createManaged, env, followFlow, jpegSize, launchFollowing, photo, result, Shots,
  startFromWelcome, startIntegrator, ui, verifySignature,
} from './support';

for (const mode of ['active', 'passive'] as const) {
  test(`managed ${mode} session, live clip: pass, redirect, signed webhook, result, photo`, async () => {
    const integrator = await startIntegrator();
    // A camera that acts each action when asked (active) and otherwise holds still; in both modes
    // it answers the screen's light as the filmed head would — passive mode's proof.
    const browser = await launchFollowing('live_obama');
    const shots = new Shots(`managed-${mode}-live`);
    try {
      const ref = `e2e-${mode}-live`;
      const s = await createManaged({
        mode, redirect_url: integrator.redirectUrl, webhook_url: integrator.webhookUrl,
        reference_id: ref, locale: 'en',
      });
      expect(s.mode).toBe(mode);
      expect(s.session_url).toMatch(new RegExp(`^${env.base}/session/${s.session_id}\\?c=`));
      expect(s.session_url).not.toContain(s.token);

      const { page } = browser;
      await page.goto(s.session_url);
      await startFromWelcome(page, shots);
      const flow = await followFlow(page, shots);
      expect(flow.outcome, `screens: ${JSON.stringify(flow)}\n${browser.log.join('\n')}`).toBe(ui.pass);
      if (mode === 'active') expect(flow.prompts.length).toBeGreaterThanOrEqual(4);
      expect(flow.prompts).toContain(ui.light);
      await expect(page.getByText(ui.redirecting)).toBeVisible();

      // Back at the integrator, with session_id added and its own query kept.
      await page.waitForURL((u) => u.origin === integrator.landingOrigin, { timeout: 20_000 });
      const landed = new URL(page.url());
      expect(landed.pathname).toBe('/verified');
      expect(landed.searchParams.get('order')).toBe('42');
      expect(landed.searchParams.get('session_id')).toBe(s.session_id);
      await shots.take(page, 'redirect-landing');

      // The webhook: signed with the tenant's secret, the verdict and reference echoed.
      const hook = await integrator.waitForHook(s.session_id);
      verifySignature(hook, env.secret);
      expect(hook.json).toMatchObject({
        event: 'liveness.verdict', session_id: s.session_id, verdict: 'pass', reference_id: ref,
      });

      const r = await result(s.session_id, s.token);
      expect(r).toMatchObject({
        session_id: s.session_id, status: 'completed', mode, verdict: 'pass',
        reference_id: ref, photo_available: true,
      });
      expect(r.confidence).toBeGreaterThanOrEqual(0.7);
      expect(hook.json.confidence).toBeCloseTo(r.confidence, 3);
      if (mode === 'active') {
        expect(r.challenges.length).toBeGreaterThanOrEqual(3);
        for (const c of r.challenges) expect(c.passed, JSON.stringify(r.challenges)).toBe(true);
      }

      const p = await photo(s.session_id, s.token);
      expect(p.status).toBe(200);
      expect(p.type).toContain('image/jpeg');
      expect(jpegSize(p.body)).toEqual({ width: 480, height: 600 });
    } finally {
      await browser.close();
      await integrator.close();
    }
  });
}
