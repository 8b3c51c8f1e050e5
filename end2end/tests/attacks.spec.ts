// What a spoof and an empty camera get: print and screen-replay attacks are refused (user, result,
// webhook), and a camera with no face shows guidance, then a retry.
import { test, expect } from '@playwright/test';
import {
  clip, createDirect, createManaged, env, followFlow, launch, launchFollowing, launchLooping, photo,
  result, Shots, startFromWelcome, startIntegrator, ui, verifySignature,
} from './support';

const heading = { pass: ui.pass, fail: ui.fail, retry: ui.retry } as Record<string, string>;

// Each attack clip, the verdicts it may get (never a pass) and the cues that may give it away.
// A print's texture moves as one plane, but the landmark model reads little rotation in a tilted
// photo, so the parallax measure may abstain: then nothing proves a live person and the verdict
// is `retry`. A screen shows its pixel grid. The clips' every-action loop, played as a camera,
// performs actions nobody asked for (`fail`), or a wrong one while a prompt waits, which ends that
// challenge unmet (`retry`, seen on 7 of 40 `ilive eval` plans). Each plays through a canvas camera, so that only the physical
// cue can give it away; the last plays the clip through Chromium's file-fed fake camera, whose
// label — the file's path — is itself the finding. The canvas cameras answer the screen's light
// as their scene would (a print flat, a screen through its glass); the `unlit` one is a person
// holding still whose stream ignores the light, as an injected stream does: nothing proves a live
// person, so no pass.
const attacks: Array<{
  kind: string; clip: string; modes: string[]; verdicts: string[]; reasons: string[];
  file?: boolean; unlit?: boolean;
}> = [
  { kind: 'print', clip: 'print_obama', modes: ['passive', 'active'], verdicts: ['fail', 'retry'],
    reasons: ['no_motion_parallax', 'insufficient_evidence', 'challenge_timeout'] },
  { kind: 'replay', clip: 'replay_obama', modes: ['passive', 'active'], verdicts: ['fail'], reasons: ['screen_moire'] },
  { kind: 'loop', clip: 'live_obama', modes: ['active'], verdicts: ['fail', 'retry'],
    reasons: ['unprompted_action', 'challenge_failed', 'challenge_timeout'] },
  { kind: 'injected', clip: 'live_obama', modes: ['passive'], verdicts: ['fail'], reasons: ['virtual_camera'], file: true },
  { kind: 'unlit', clip: 'live_obama', modes: ['passive'], verdicts: ['retry'],
    reasons: ['light_too_weak', 'insufficient_evidence'], unlit: true },
];

// A loop whose random plan happens to follow the recording's own order of actions, with no head
// action between two asked ones, answers every prompt and does nothing unasked: it passes. That
// is a known limit (README, "Known limits": recordings that perform every action); it was seen
// on one plan in about ten browser runs and on seed 23 of 40 in `ilive eval`. So the loop's test
// gets one more run, on a fresh plan, after a failure: a loop that passes twice fails it.
for (const attack of attacks) for (const mode of attack.modes as Array<'passive' | 'active'>) test.describe(() => {
  if (attack.kind === 'loop') test.describe.configure({ retries: 1 });
  test(`${attack.kind} attack, managed ${mode} session: refused on screen, in the result and the webhook`, async () => {
    const integrator = await startIntegrator();
    const browser = attack.file ? await launch(clip(attack.clip))
      : attack.unlit ? await launchFollowing(attack.clip, { answersLight: false })
        : await launchLooping(attack.clip);
    const shots = new Shots(`${attack.kind}-${mode}`);
    try {
      const s = await createManaged({
        mode, redirect_url: integrator.redirectUrl, webhook_url: integrator.webhookUrl,
        reference_id: `e2e-${attack.kind}-${mode}`, locale: 'en',
      });
      const { page } = browser;
      await page.goto(s.session_url);
      await startFromWelcome(page, shots);
      const flow = await followFlow(page, shots);
      const r = await result(s.session_id, s.token);
      expect(r.status).toBe('completed');
      test.info().annotations.push({ type: 'verdict', description: `${r.verdict} ${JSON.stringify(r.reasons)}` });
      expect(attack.verdicts, JSON.stringify(r)).toContain(r.verdict);
      expect(attack.reasons.some((x) => r.reasons.includes(x)), JSON.stringify(r)).toBe(true);
      expect(r.photo_available).toBe(false);
      expect(flow.outcome).toBe(heading[r.verdict]);
      await expect(page.getByText(ui.managedRetry)).toBeVisible();

      const hook = await integrator.waitForHook(s.session_id);
      verifySignature(hook, env.secret);
      expect(hook.json).toMatchObject({ event: 'liveness.verdict', session_id: s.session_id, verdict: r.verdict });

      // Sent back to the integrator after the longer delay of a refusal.
      await page.waitForURL((u) => u.origin === integrator.landingOrigin, { timeout: 30_000 });
      expect(new URL(page.url()).searchParams.get('session_id')).toBe(s.session_id);
      await shots.take(page, 'redirect-landing');

      const p = await photo(s.session_id, s.token);
      expect(p.status).toBe(404);
      expect(JSON.parse(p.body.toString()).detail.code).toBe('photo_not_available');
    } finally {
      await browser.close();
      await integrator.close();
    }
  });
});

test('no face: guidance on screen, then retry', async () => {
  const browser = await launchLooping('noface_coffee');
  const shots = new Shots('noface');
  try {
    const s = await createDirect(env.base, 'passive');
    const { page } = browser;
    await page.goto(s.session_url);
    await startFromWelcome(page, shots);
    await expect(page.locator('.preview .hint')).toHaveText(new RegExp(ui.noFace), { timeout: 30_000 });
    const flow = await followFlow(page, shots);
    expect(flow.hints).toContain(ui.noFace);
    expect(flow.outcome, JSON.stringify(flow)).toBe(ui.retry);
    const r = await result(s.session_id, s.token);
    expect(r).toMatchObject({ status: 'completed', verdict: 'retry', photo_available: false });
    expect(r.reasons.length).toBeGreaterThan(0);
    // A direct session can be tried again from here: the demo page starts a new one of the same
    // mode at once, and its address goes back to `/`.
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.locator('.preview .hint')).toHaveText(new RegExp(ui.noFace), { timeout: 30_000 });
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/');
    await shots.take(page, 'tried-again-on-the-demo-page');
  } finally {
    await browser.close();
  }
});
