// Grid, tick labels, axis lines and axis titles for the page's canvas charts, so every
// chart frames its data the same way.

/**
 * Draws the frame of a chart whose plot area is `f = {l, t, w, h}` (CSS pixels).
 * `ys`/`xs`: tick values; `X`/`Y`: value → pixel; `fmtX`/`fmtY`: tick labels;
 * `xGrid`: vertical grid lines too; `xLabel`/`yLabel`: titles with units.
 */
export function drawAxes(ctx, p, f, { xs, ys, X, Y, fmtX, fmtY, xGrid = false, xLabel, yLabel }) {
  ctx.lineWidth = 1;
  ctx.strokeStyle = p.grid;
  ctx.fillStyle = p.fg;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of ys) {
    ctx.beginPath();
    ctx.moveTo(f.l, Y(v) + 0.5);
    ctx.lineTo(f.l + f.w, Y(v) + 0.5);
    ctx.stroke();
    ctx.fillText(fmtY(v), f.l - 6, Y(v));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const v of xs) {
    if (xGrid) {
      ctx.beginPath();
      ctx.moveTo(X(v) + 0.5, f.t);
      ctx.lineTo(X(v) + 0.5, f.t + f.h);
      ctx.stroke();
    }
    ctx.fillText(fmtX(v), X(v), f.t + f.h + 6);
  }
  ctx.strokeStyle = p.fg;
  ctx.beginPath();
  ctx.moveTo(f.l + 0.5, f.t);
  ctx.lineTo(f.l + 0.5, f.t + f.h + 0.5);
  ctx.lineTo(f.l + f.w, f.t + f.h + 0.5);
  ctx.stroke();
  ctx.fillText(xLabel, f.l + f.w / 2, f.t + f.h + 24);
  ctx.save();
  ctx.translate(14, f.t + f.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
}
