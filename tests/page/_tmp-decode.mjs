import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { chromium } from 'playwright-core';
const rounds = Number(process.argv[2] || 7), tokens = Number(process.argv[3] || 255);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdec-'));
const browser = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(process.env.TINYOPT_URL);
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 120000 });
await page.waitForFunction(() => document.body.dataset.recipe === 'done', null, { timeout: 120000 });
const recipe = (prune = {}) => ({ quant: { precision: 'f32', group_size: 32, clip: 'max-abs', act: 'dynamic', percentile: 99.9, quantize_ends: true },
  prune: { kind: 'none', ratio: 0, heads: 0, scope: 'global', format: 'dense', ...prune }, kernel: 'simd' });
const recipes = { f32: recipe(), s50: recipe({ kind: 'structured', ratio: 0.5 }) };
const times = await page.evaluate(([r, n, t]) => window.__tinyopt.runner.run('decodeTimes', { recipes: r, rounds: n, tokens: t }).promise.then((x) => x.value), [recipes, rounds, tokens]);
const a = times.f32.map((t) => t.tokens_per_s), b = times.s50.map((t) => t.tokens_per_s);
const med = (v) => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ratios = a.map((x, i) => b[i] / x);
console.log('f32', a.map(Math.round).join(' '), '\ns50', b.map(Math.round).join(' '), '\nratios', ratios.map((r) => r.toFixed(3)).join(' '), '\nmedian f32', Math.round(med(a)), 's50', Math.round(med(b)), 'ratio of medians', (med(b) / med(a)).toFixed(3), 'median ratio', med(ratios).toFixed(3));
await browser.close();
