#!/usr/bin/env bash
# RTN vs GPTQ (issue 21): int4 at groups of 32/64/128 and int8, each built and measured
# the way `tinyopt search` measures its candidates (top-1, KL and the perplexity ratio on
# the suite's fixed set, build time, decode tokens/s: median of 3 runs of 64 tokens).
# ROUNDS rounds, the order reversed every other round; writes artifacts/native/gptq.jsonl.
#   Usage: scripts/measure-gptq.sh [ROUNDS] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
MODEL="${2:-models/shakespeare-char.safetensors}"
T=target/release/tinyopt
cargo build --release --quiet --bin tinyopt
mkdir -p artifacts/native
out=artifacts/native/gptq.jsonl
: > $out
configs=()
for gs in 32 64 128; do
  configs+=("?precision=int4&group-size=$gs" "?precision=int4&group-size=$gs&quant-method=gptq"
            "?precision=int4&group-size=$gs&quant-method=gptq&gptq-order=act-order")
done
configs+=("?precision=int8" "?precision=int8&quant-method=gptq" "?precision=int8&quant-method=gptq&gptq-order=act-order")
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then order=("${configs[@]}"); else order=(); for ((i=${#configs[@]}-1; i>=0; i--)); do order+=("${configs[i]}"); done; fi
  args=()
  for c in "${order[@]}"; do args+=(--measure "$c"); done
  $T search --json --model "$MODEL" "${args[@]}" | sed "s/^{/{\"round\":$r,/" >> $out
done
# Median [min–max] per recipe.
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const by = new Map();
for (const { candidate: c } of rows) (by.get(c.query) || by.set(c.query, []).get(c.query)).push(c);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const spread = (xs, f) => `${f(med(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;
console.log("| recipe | bytes of f32 | top-1 | KL | ppl ratio | build ms | tokens/s |");
console.log("|---|---|---|---|---|---|---|");
for (const [q, cs] of by) {
  const c = cs[0];
  console.log(`| \`?${q}\` | ${(100 * c.bytes_vs_f32).toFixed(1)} % | ${(100 * c.top1_agreement).toFixed(1)} % | ${c.kld.toFixed(4)} | ${c.quality_ratio.toFixed(4)} | ${spread(cs.map((x) => x.build_ms), (x) => x.toFixed(0))} | ${spread(cs.map((x) => x.tokens_per_s), (x) => x.toFixed(0))} |`);
}' "$out"
