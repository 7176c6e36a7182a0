// The KV-cache area's figures: the cache's true bytes and the quality its precision
// costs (from the running recipe's report, measured by the wasm module), and a chart of
// cache bytes against position read from the running cache at each step of the last
// run with the cache on.

import { drawAxes } from './axes.js';
import { ticks } from './chart.js';
import { fmt, fmtBytes, fmtSmall } from './metrics.js';

const $ = (id) => document.getElementById(id);

function put(id, text, raw) {
  const el = $(id);
  el.textContent = text;
  if (Number.isFinite(raw)) el.dataset.value = String(raw);
  else delete el.dataset.value;
}

/** Writes the recipe report's KV figures (or dashes before the first report). */
function renderFigures(report) {
  const r = report || {};
  const share = r.kv_cache_bytes / r.kv_cache_bytes_f32;
  put('kv-bytes', fmtBytes(r.kv_cache_bytes), r.kv_cache_bytes);
  $('kv-bytes').title = Number.isFinite(r.kv_cache_bytes) ? `${r.kv_cache_bytes.toLocaleString('en-US')} bytes` : '';
  put('kv-share', fmt(100 * share, 3), share);
  put('kv-kld', fmtSmall(r.kv_kld), r.kv_kld);
  put('kv-top1', fmt(100 * r.kv_top1_agreement, 4), r.kv_top1_agreement);
  put('kv-wprec', r.precision || '—');
  put('kv-kprec', r.kv_precision || '—');
  put('kv-rkld', fmtSmall(r.kld), r.kld);
  put('kv-rtop1', fmt(100 * r.top1_agreement, 4), r.top1_agreement);
}

let drawn = null; // [run, steps drawn, report]: skip redrawing the same picture

/** Draws bytes vs position of `run` (steps carry `kv`, the cache's filled bytes). */
function drawBytes(canvas, run, report) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 160;
  if (!canvas.clientWidth) return; // hidden: drawn when shown
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const cs = getComputedStyle(canvas);
  const p = {
    fg: cs.getPropertyValue('--chart-fg').trim() || '#222',
    grid: cs.getPropertyValue('--chart-grid').trim() || '#ddd',
    on: cs.getPropertyValue('--chart-on').trim() || '#1f6feb',
    off: cs.getPropertyValue('--chart-off').trim() || '#c2410c',
  };
  ctx.font = `11px ${cs.fontFamily || 'sans-serif'}`;
  const pts = run ? run.steps.filter((s) => Number.isFinite(s.kv)).map((s) => ({ x: s.pos, y: s.kv })) : [];
  const perPosF32 = report && report.kv_cache_bytes_f32 / report.config_ctx;
  const xMax = Math.max(1, ...pts.map((q) => q.x));
  const f32Line = Number.isFinite(perPosF32) ? [{ x: 0, y: 0 }, { x: xMax, y: perPosF32 * xMax }] : [];
  const yMax = Math.max(1, ...pts.map((q) => q.y), ...f32Line.map((q) => q.y)) / 1024;
  const f = { l: 52, t: 8, w: w - 62, h: h - 48 };
  const xs = ticks(xMax, 5);
  const ys = ticks(yMax, 4);
  const X = (v) => f.l + (v / xs[xs.length - 1]) * f.w;
  const Y = (v) => f.t + f.h - (v / ys[ys.length - 1]) * f.h;
  drawAxes(ctx, p, f, { xs, ys, X, Y, fmtX: (v) => fmt(v), fmtY: (v) => fmt(v), xLabel: 'position', yLabel: 'KiB' });
  const line = (q, colour, dash) => {
    if (q.length < 2) return;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(dash);
    ctx.beginPath();
    q.forEach((pt, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(pt.x), Y(pt.y / 1024)));
    ctx.stroke();
    ctx.setLineDash([]);
  };
  line(f32Line, p.off, [5, 4]);
  line(pts, p.on, []);
  const prec = run && run.settings.recipe ? run.settings.recipe.kv_precision || 'f32' : '';
  // Each line named at its end (right-aligned inside the plot).
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  const tag = (q, colour, text) => {
    const end = q[q.length - 1];
    if (!end) return;
    ctx.fillStyle = colour;
    ctx.fillText(text, Math.min(X(end.x), f.l + f.w) - 2, Y(end.y / 1024) - 3);
  };
  tag(f32Line, p.off, 'f32 cache');
  if (prec !== 'f32') tag(pts, p.on, `${prec} cache (this run)`);
  const last = pts[pts.length - 1];
  canvas.setAttribute(
    'aria-label',
    last
      ? `KV-cache bytes against position, ${prec} cache: ${fmtBytes(last.y)} at position ${last.x}` +
          (Number.isFinite(perPosF32) ? `; an f32 cache would hold ${fmtBytes(perPosF32 * last.x)}.` : '.')
      : 'KV-cache bytes against position: no run with the cache on yet.',
  );
  canvas.dataset.points = String(pts.length);
}

/** Draws the area from the page state (called every frame the page renders). */
export function renderKv(state) {
  const report = state.recipe ? { ...state.recipe.report, config_ctx: state.model ? state.model.info.config.ctx : NaN } : null;
  renderFigures(report);
  const run = state.lastByMode ? state.lastByMode.on : null;
  const key = [run, run ? run.steps.length : 0, report && report.recipe_id];
  if (drawn && key.every((k, i) => k === drawn[i])) return;
  drawn = key;
  drawBytes($('kv-chart'), run, report);
}

/** Forgets what was drawn (after a resize or a tab switch). */
export function redrawKv() {
  drawn = null;
}
