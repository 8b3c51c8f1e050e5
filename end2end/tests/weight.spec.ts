// The session page's weight, as a browser receives it: the HTML, WASM, JS and CSS, compressed as
// sent, within the budget (ILIVE_PAGE_BUDGET_KB, set in scripts/lib.sh; docs/performance.md,
// "Page weight"); and its first screen is in the server's HTML, so it paints before the WASM.
import { test, expect } from '@playwright/test';
import { clip, createDirect, env, launch, ui } from './support';

const BUDGET_BYTES = Number(process.env.ILIVE_PAGE_BUDGET_KB) * 1024;

test('session page: first screen in the HTML, everything it loads within the weight budget', async () => {
  expect(BUDGET_BYTES, 'ILIVE_PAGE_BUDGET_KB (scripts/lib.sh) is set').toBeGreaterThan(0);
  const browser = await launch(clip('live_obama'));
  try {
    const { page } = browser;
    const s = await createDirect(env.base, 'passive');

    // Server-rendered: the welcome text and the (not yet enabled) Start button need no WASM.
    const html = await (await fetch(s.session_url)).text();
    expect(html).toMatch(/<h1[^>]*>(?:<!>|<!--[^>]*-->)*[^<\s]/);
    // (Text may sit beside the hydration markers Leptos writes: `<!>`, `<!--…-->`.)
    expect(html).toMatch(new RegExp(`<button[^>]*\\bdisabled\\b[^>]*>(?:\\s|<!>|<!--[^>]*-->)*${ui.start}\\b`));

    const sizes: Array<Promise<{ url: string; bytes: number; encoding: string }>> = [];
    page.on('requestfinished', (req) => {
      sizes.push((async () => {
        const [z, resp] = await Promise.all([req.sizes(), req.response()]);
        const encoding = (await resp?.allHeaders())?.['content-encoding'] || 'identity';
        return { url: req.url(), bytes: z.responseBodySize, encoding };
      })());
    });
    await page.goto(s.session_url);
    // Hydrated: the WASM has run and enabled Start.
    await expect(page.getByRole('button', { name: ui.start, exact: true })).toBeEnabled({ timeout: 30_000 });
    await page.waitForLoadState('networkidle');

    const loaded = await Promise.all(sizes);
    const total = loaded.reduce((sum, r) => sum + r.bytes, 0);
    const table = loaded.map((r) => `${(r.bytes / 1024).toFixed(1)} KB ${r.encoding} ${new URL(r.url).pathname}`);
    console.log(`session page: ${(total / 1024).toFixed(1)} KB\n  ${table.join('\n  ')}`);
    // The session page's own bundle, without the demo page's code (app::ssr::page_bundle).
    expect(loaded.some((r) => r.url.endsWith('/pkg/ilive-session_bg.wasm')), table.join('\n')).toBe(true);
    for (const r of loaded.filter((r) => /\.(wasm|js|css)$/.test(r.url))) {
      expect(r.encoding, `${r.url} is sent compressed`).toBe('gzip');
    }
    expect(total, table.join('\n')).toBeLessThanOrEqual(BUDGET_BYTES);
  } finally {
    await browser.close();
  }
});
