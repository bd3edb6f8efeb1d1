import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { currentTestMark, MARK_VAR } from './procs.js';

/** Debian's Chromium (`.ci/run` installs the `chromium` package); BATON_CHROMIUM names another build. */
export const CHROMIUM = process.env.BATON_CHROMIUM || '/usr/bin/chromium';

/** Why the browser tests are skipped, or undefined when they run. */
export const NO_BROWSER = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (install Debian's \`chromium\` package, or set BATON_CHROMIUM): the browser tests are skipped`;

/**
 * Why: the system browser, headless, with nothing that reaches the network by itself; it carries
 * the test's mark like every process a test starts, so a browser left open fails the test.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: { ...process.env, [MARK_VAR]: currentTestMark() },
  });
}
