// Assembles the static site in dist/: exactly what the page needs, nothing else (no
// sources, no .git), plus the service worker with its precache manifest and header
// files for the hosts that read them. Run by scripts/build.sh after the wasm build.
//
//   node scripts/site.mjs [--out dist]
//
// The manifest lists every file with its sha256; the build's version is a hash over
// them, so a new build (any changed byte) installs a fresh cache and drops the old one.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const OUT = path.resolve(ROOT, outArg > 0 ? process.argv[outArg + 1] : 'dist');

/** What the page loads: the page, its modules and styles, the wasm package, the models,
 *  the leaderboard. */
function siteFiles() {
  const files = ['index.html'];
  for (const f of fs.readdirSync(path.join(ROOT, 'www')).sort()) {
    if (/\.(js|css)$/.test(f) && f !== 'sw.js') files.push(`www/${f}`);
  }
  // The course's lesson files (www/lessons/, see docs/teaching.md), offline too.
  for (const f of fs.readdirSync(path.join(ROOT, 'www/lessons')).sort()) {
    if (f.endsWith('.js')) files.push(`www/lessons/${f}`);
  }
  // Both engine builds: the page picks one per browser (www/engine.js), and offline
  // use must not depend on which.
  for (const dir of ['www/pkg', 'www/pkg-relaxed']) {
    const pkg = path.join(ROOT, dir);
    if (!fs.existsSync(path.join(pkg, 'tinyopt_bg.wasm'))) {
      throw new Error(`${dir}/tinyopt_bg.wasm is missing: run scripts/build.sh (it builds the wasm first)`);
    }
    for (const f of fs.readdirSync(pkg).sort()) {
      if (/\.(js|wasm)$/.test(f)) files.push(`${dir}/${f}`);
    }
  }
  for (const f of fs.readdirSync(path.join(ROOT, 'models')).sort()) {
    if (f.endsWith('.safetensors')) files.push(`models/${f}`);
  }
  // The leaderboard's ranking (the page's Leaderboard view reads it). The records
  // themselves, with their raw samples, stay in the repository for verification.
  const board = path.join(ROOT, 'leaderboard');
  if (fs.existsSync(board)) {
    if (fs.existsSync(path.join(board, 'board.json'))) files.push('leaderboard/board.json');
  }
  return files;
}

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  const files = siteFiles();
  const manifest = [];
  let bytes = 0;
  for (const f of files) {
    let data = fs.readFileSync(path.join(ROOT, f));
    // The built page says it is a site with a service worker (www/sw-register.js
    // registers one only then: a checkout's server has none to offer).
    if (f === 'index.html') {
      const html = data.toString('utf8');
      const marked = html.replace('<meta charset="utf-8" />', '<meta charset="utf-8" />\n    <meta name="tinyopt-site" content="service-worker" />');
      if (marked === html) throw new Error('index.html has no <meta charset="utf-8" /> to put the site marker after');
      data = Buffer.from(marked, 'utf8');
    }
    fs.mkdirSync(path.dirname(path.join(OUT, f)), { recursive: true });
    fs.writeFileSync(path.join(OUT, f), data);
    manifest.push({ path: f, sha256: crypto.createHash('sha256').update(data).digest('hex') });
    bytes += data.length;
  }
  const version = crypto
    .createHash('sha256')
    .update(manifest.map((m) => `${m.path} ${m.sha256}\n`).join(''))
    .digest('hex')
    .slice(0, 12);

  // The worker script with the build's manifest in front of it (it reads `BUILD`).
  const sw = fs.readFileSync(path.join(ROOT, 'www/sw.js'), 'utf8');
  const build = { version, files: ['./', ...files.map((f) => `./${f}`)] };
  fs.writeFileSync(path.join(OUT, 'sw.js'), `self.BUILD = ${JSON.stringify(build)};\n${sw}`);
  fs.writeFileSync(path.join(OUT, 'build.json'), JSON.stringify({ version, files: manifest }, null, 1) + '\n');

  // Netlify / Cloudflare Pages read `_headers`; Vercel reads `vercel.json`. Hosts that
  // honour them isolate the page without the service worker's reload.
  const headerLines = Object.entries(ISOLATION).map(([k, v]) => `  ${k}: ${v}`);
  fs.writeFileSync(
    path.join(OUT, '_headers'),
    ['/*', ...headerLines, '/sw.js', '  Cache-Control: no-cache', ''].join('\n'),
  );
  const vercel = {
    headers: [
      { source: '/(.*)', headers: Object.entries(ISOLATION).map(([key, value]) => ({ key, value })) },
      { source: '/sw.js', headers: [{ key: 'Cache-Control', value: 'no-cache' }] },
    ],
  };
  fs.writeFileSync(path.join(OUT, 'vercel.json'), JSON.stringify(vercel, null, 2) + '\n');
  // GitHub Pages runs Jekyll unless told not to (it would hide nothing here, but skip it).
  fs.writeFileSync(path.join(OUT, '.nojekyll'), '');

  const mb = (n) => (n / 1048576).toFixed(2);
  console.log(`[site] dist/: ${files.length + 5} files, ${mb(bytes)} MiB, build ${version}`);
}

main();
