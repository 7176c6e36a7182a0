#!/usr/bin/env bash
# Native figures for the course's "done" criteria, configurations alternating in one run
# so ratios compare like with like on a noisy machine. Writes artifacts/native/*.jsonl and
# prints medians with their spread.   Usage: scripts/measure-native.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}"
T=target/release/tinyopt
cargo build --release --quiet --bin tinyopt
mkdir -p artifacts/native
out=artifacts/native
: > $out/decode.jsonl
configs=(
  "f32|"
  "int8|--precision int8"
  "int8-dynamic|--precision int8-dynamic"
  "int4-g32|--precision int4 --group-size 32"
  "structured-50|--prune 0.5 --prune-kind structured"
  "unstructured-90-csr|--prune 0.9 --prune-kind unstructured --sparse-format csr"
  "unstructured-90-sell|--prune 0.9 --prune-kind unstructured --sparse-format sell"
)
for r in $(seq "$ROUNDS"); do
  for c in "${configs[@]}"; do
    name="${c%%|*}"; args="${c#*|}"
    # shellcheck disable=SC2086
    $T bench --json --kv-cache --tokens 255 --runs 3 $args 2>/dev/null | sed "s/^{/{\"config\":\"$name\",\"round\":$r,/" >> $out/decode.jsonl
  done
  echo "round $r/$ROUNDS done" >&2
done
$T bench --json --tokens 255 --runs 5 > $out/kv.jsonl 2>/dev/null
$T quant-report --json --clip search > $out/quant.jsonl 2>/dev/null
$T quant-report --json --clip search --keep-f32-ends > $out/quant-keep-ends.jsonl 2>/dev/null
$T prune-report --json > $out/prune.jsonl 2>/dev/null
$T kernels --json > $out/kernels.jsonl 2>/dev/null
$T profile --json > $out/profile.json 2>/dev/null
node - "$out" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const rows = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
const med = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const by = {};
for (const r of rows('decode.jsonl')) (by[r.config] ||= []).push(r);
const f32 = by['f32'].map((r) => r.tokens_per_s);
console.log('decode tokens/s, KV cache on, 255 tokens (median over rounds [min-max]; ratio = median of per-round ratios vs f32)');
for (const [k, v] of Object.entries(by)) {
  const t = v.map((r) => r.tokens_per_s);
  const ratios = v.map((r, i) => r.tokens_per_s / f32[i]);
  console.log(`  ${k.padEnd(22)} ${med(t).toFixed(0).padStart(6)} [${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)}]  x${med(ratios).toFixed(2)}  bytes ${v[0].weight_bytes} (${(100 * v[0].weight_bytes / by['f32'][0].weight_bytes).toFixed(1)}%)  kld ${v[0].kld.toPrecision(3)}  top1 ${(100 * v[0].top1_agreement).toFixed(1)}%  sparsity ${v[0].sparsity.toFixed(3)}`);
}
const kv = rows('kv.jsonl');
const on = kv.find((r) => r.kv_cache), off = kv.find((r) => !r.kv_cache);
console.log(`KV cache: on ${on.tokens_per_s.toFixed(1)} tok/s, off ${off.tokens_per_s.toFixed(1)} tok/s, x${(on.tokens_per_s / off.tokens_per_s).toFixed(1)}`);
const k512 = rows('kernels.jsonl').filter((r) => r.m === 1 && r.k === 512 && r.n === 512);
console.log('512x512 matvec GFLOP/s: ' + k512.map((r) => `${r.kernel} ${r.gflops.toFixed(1)}`).join(', '));
for (const r of rows('prune.jsonl').filter((r) => r.kind === 'crossover')) console.log(`crossover ${r.rows}x${r.cols}: CSR ${r.csr_crossover_sparsity}, SELL ${r.sell_crossover_sparsity}`);
for (const r of rows('prune.jsonl').filter((r) => r.kind === 'sweep' && Math.abs(r.sparsity - 0.9) < 0.01)) {
  const f = (x) => `x${x.speedup.toFixed(2)} (bytes ${(100 * x.bytes / r.dense.bytes).toFixed(1)}%)`;
  console.log(`sparse vs dense matvec at 90%, ${r.rows}x${r.cols}: CSR ${f(r.csr)}, SELL ${f(r.sell)}`);
}
JS
