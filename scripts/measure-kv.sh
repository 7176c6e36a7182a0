#!/usr/bin/env bash
# Native figures for the KV-cache precisions (issue 20): bytes, quality of the cache alone
# (KL / top-1 against the f32 cache, same weights) and decode tokens/s, precisions
# alternating in each round so ratios compare like with like on a noisy machine; also the
# int8 cache composed with int8 weights. Writes artifacts/native/kv-precision.jsonl.
#   Usage: scripts/measure-kv.sh [ROUNDS] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-7}"
MODEL="${2:-models/shakespeare-char.safetensors}"
T=target/release/tinyopt
cargo build --release --quiet --bin tinyopt
mkdir -p artifacts/native
out=artifacts/native/kv-precision.jsonl
: > $out
configs=(
  "f32|"
  "f16|--kv-precision f16"
  "int8|--kv-precision int8"
  "w-int8|--precision int8"
  "w-int8+kv-int8|--precision int8 --kv-precision int8"
)
for r in $(seq "$ROUNDS"); do
  # Alternate the order each round (forward, then backward).
  if (( r % 2 )); then order=("${configs[@]}"); else order=(); for ((i=${#configs[@]}-1; i>=0; i--)); do order+=("${configs[i]}"); done; fi
  for c in "${order[@]}"; do
    name="${c%%|*}"; args="${c#*|}"
    # shellcheck disable=SC2086
    $T bench --json --kv-cache --model "$MODEL" --prompt "ROMEO:" --tokens 200 --runs 3 $args 2>/dev/null | sed "s/^{/{\"config\":\"$name\",\"round\":$r,/" >> $out
  done
  echo "round $r/$ROUNDS done" >&2
done
node - "$out" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const med = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const by = {};
for (const r of rows) (by[r.config] ||= []).push(r);
const at = (name, round) => by[name].find((x) => x.round === round);
console.log('decode tokens/s, KV cache on, 200 tokens after "ROMEO:" (median of each round\'s 3-run median [min-max]; ratio = median of per-round ratios)');
for (const [k, v] of Object.entries(by)) {
  const t = v.map((r) => r.tokens_per_s);
  const ref = k.startsWith('w-int8') ? 'w-int8' : 'f32';
  const ratios = v.map((r) => r.tokens_per_s / at(ref, r.round).tokens_per_s);
  const rr = ratios.map((x) => x.toFixed(3));
  console.log(`  ${k.padEnd(16)} ${med(t).toFixed(0).padStart(6)} [${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)}] x${med(ratios).toFixed(3)} vs ${ref} [${Math.min(...rr)}-${Math.max(...rr)}]  kv ${v[0].kv_cache_bytes} B (${(100 * v[0].kv_cache_bytes / by['f32'][0].kv_cache_bytes).toFixed(2)} % of f32)  recipe kld ${v[0].kld.toPrecision(3)} top1 ${(100 * v[0].top1_agreement).toFixed(2)} %  ${v[0].recipe_id}`);
}
JS
