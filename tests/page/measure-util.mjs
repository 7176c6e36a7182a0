// What the measuring scripts share: a fresh headless Chromium, one generation through
// the page's own controls, and the median.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, waitDone } from './harness.mjs';

/** A headless Chromium with a throwaway profile (`/usr/bin/chromium`, or CHROMIUM);
 *  `close()` also removes the profile. */
export async function launch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-measure-'));
  const browser = await launchChromium(dir);
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Clicks Generate and waits until the run is over and its figures are drawn. It looks
 *  every 50 ms rather than every frame, so the waiting adds little work of its own to
 *  the page being measured. */
export async function generateOnce(page) {
  await page.click('#generate');
  await waitDone(page, 120000, 50);
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Where the scripts save screenshots: artifacts/ at the top of the checkout. */
export function artifact(name) {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), '../../artifacts', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}
