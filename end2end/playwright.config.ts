// Browser end-to-end tests of iLive. Debian's Chromium (no browser download) with a fake camera fed
// from the test clips; each scenario launches its own persistent context because the fake camera's
// video file is a launch flag. The global set-up starts the `ilive` binary (built beforehand by
// run.sh) on free ports with fresh databases, and stops it at the end.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  // One browser at a time: the engine runs on the CPU, and the scenarios time real challenges.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 15_000 },
  outputDir: './test-results',
  reporter: [['list']],
});
