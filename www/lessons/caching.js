// Lesson: Caching / memoization, "stop redoing work". Data only (see docs/teaching.md).

const KV = { query: '', tokens: 96, runs: 2 };

export default {
  id: 'caching',
  title: 'Caching',
  question: 'What does keeping the keys and values of past tokens save, and what does it cost in memory?',
  steps: [
    {
      id: 'kv-speedup',
      question: 'Without a KV cache, every new token recomputes the whole prefix. Generating 96 tokens with the cache on and off (alternating), how much faster is the cache?',
      prediction: { kind: 'number', prompt: 'Tokens/s with the cache over without', field: 'speedup', min: 0.5, max: 100, step: 0.5, unit: '×', default: 5 },
      action: 'kvCompare',
      args: KV,
      reads: ['speedup', 'on_tokens_per_s', 'off_tokens_per_s', 'tokens'],
      explain: 'Over {tokens} tokens the cache ran {on_tokens_per_s} and recomputing ran {off_tokens_per_s}: {speedup}. The gain grows with the length: without the cache, token n does n positions of work.',
      checkpoint: {
        question: 'Would the ratio be larger or smaller for 250 tokens (nearly the whole 256-token context)?',
        options: [
          { label: 'Larger: recomputation grows with the prefix, the cached step barely does', correct: true, feedback: 'Yes: total work without a cache grows with the square of the length.' },
          { label: 'The same', correct: false, feedback: 'The next step measures how a step’s time grows with position.' },
          { label: 'Smaller', correct: false, feedback: 'Recomputation only gets more expensive as the prefix grows.' },
        ],
      },
      lab: '?kv=1&tokens=96',
    },
    {
      id: 'latency-position',
      question: 'Without the cache, how much slower is a step at the end of the 96 tokens than at the start?',
      prediction: { kind: 'number', prompt: 'Late step time over early step time, cache off', field: 'off_growth', min: 0.5, max: 100, step: 0.5, unit: '×', default: 4 },
      action: 'kvCompare',
      args: KV,
      reads: ['off_growth', 'off_early_ms', 'off_late_ms', 'on_early_ms', 'on_late_ms'],
      explain: 'Cache off, a step took {off_early_ms} in the first quarter and {off_late_ms} in the last: {off_growth}. Cache on, {on_early_ms} and {on_late_ms}: only attention over the cached positions grows.',
      checkpoint: {
        question: 'What does the cached step still do more of at later positions?',
        options: [
          { label: 'Attention: it reads every cached key and value', correct: true, feedback: 'Yes: a small linear growth, against recomputing the whole prefix.' },
          { label: 'The MLP', correct: false, feedback: 'The MLP only sees the new position.' },
          { label: 'Nothing', correct: false, feedback: 'The measured times grow a little: attention.' },
        ],
      },
      lab: '?kv=0&tokens=96',
    },
    {
      id: 'cache-bytes',
      question: 'The cache keeps a key and a value per layer per position. After 96 tokens, how large is it?',
      prediction: { kind: 'number', prompt: 'KV cache size after 96 tokens', field: 'kv_bytes', min: 1, max: 4096, step: 1, unit: 'KiB', default: 256 },
      action: 'kvCompare',
      args: { query: '', tokens: 96, runs: 1 },
      reads: ['kv_bytes', 'tokens', 'speedup'],
      explain: 'After {tokens} tokens the cache held {kv_bytes}, and bought {speedup} in speed. It grows linearly with the context length (and with layers × width): memory traded for recomputation.',
      checkpoint: {
        question: 'Which grows the cache per token?',
        options: [
          { label: 'More layers and a wider model', correct: true, feedback: 'Yes: 2 × layers × width values per position.' },
          { label: 'A larger vocabulary', correct: false, feedback: 'The vocabulary sizes the output head, not the cache.' },
          { label: 'A higher temperature', correct: false, feedback: 'Sampling does not change what is stored.' },
        ],
      },
      lab: '?kv=1&tokens=96&panel=profile',
    },
    {
      id: 'attention-share',
      question: 'With the cache on, attention reads all past positions. Over 120 positions, what share of a step does attention take?',
      prediction: { kind: 'number', prompt: 'Attention’s share of a step', field: 'attention_share', min: 0, max: 100, step: 1, unit: '%', default: 20 },
      action: 'profile',
      args: { query: '', tokens: 120, runs: 2 },
      reads: ['attention_share', 'weight_share', 'total_ms'],
      explain: 'Averaged over 120 positions, attention (scores, softmax, weighted values) took {attention_share} of a {total_ms} step, the weight matrices {weight_share}. In long contexts the cache read becomes the cost to optimise.',
      checkpoint: {
        question: 'When the context grows long, what will dominate a cached step?',
        options: [
          { label: 'Reading the KV cache in attention', correct: true, feedback: 'Yes: the weights are read once per token, the cache grows with every token.' },
          { label: 'The embedding', correct: false, feedback: 'One row per token, whatever the context.' },
          { label: 'Nothing changes', correct: false, feedback: 'Attention’s share grows with position.' },
        ],
      },
      lab: '?panel=profile',
    },
  ],
  handoff: 'You have profiled, accelerated, quantized, compressed and cached. Last: combine them into a recipe, measure it under fixed rules, and submit (Benchmarking).',
};
