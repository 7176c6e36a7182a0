// Lesson: Profiling, "measure first". Data only (see docs/teaching.md); every figure
// comes from the step's action, run live.

export default {
  id: 'profiling',
  title: 'Profiling',
  question: 'Where does the time of one generated token go, and what limits it?',
  steps: [
    {
      id: 'op-breakdown',
      question: 'A decode step runs embedding, layer norms, attention, the MLP and the output head. Which single op takes the most time?',
      prediction: {
        kind: 'choice',
        prompt: 'The op that takes the largest share of a step',
        field: 'top_op',
        options: [
          { value: 'qkv', label: 'qkv (the query/key/value projection)' },
          { value: 'mlp_up', label: 'mlp_up (the MLP widening)' },
          { value: 'mlp_down', label: 'mlp_down (the MLP narrowing)' },
          { value: 'lm_head', label: 'lm_head (scores for every character)' },
          { value: 'attn_scores', label: 'attn_scores (attention over the cache)' },
          { value: 'softmax', label: 'softmax' },
        ],
      },
      action: 'profile',
      args: { query: '', tokens: 24, runs: 2 },
      reads: ['top_op', 'top_share', 'weight_share', 'attention_share', 'total_ms'],
      explain:
        'One decode step took {total_ms}. {top_op} alone took {top_share} of it; the five ops that multiply by a weight matrix (qkv, attn_out, mlp_up, mlp_down, lm_head) took {weight_share} together, and attention over the cached positions {attention_share}.',
      checkpoint: {
        question: 'Given this breakdown, what is worth optimising first?',
        options: [
          { label: 'The matrix–vector products with the weights', correct: true, feedback: 'Yes: they hold most of the step, so a faster or smaller matmul moves the total.' },
          { label: 'The softmax', correct: false, feedback: 'Look at its share: even making it free would barely change the step.' },
          { label: 'The embedding lookup', correct: false, feedback: 'It is one row copy per token: a tiny share of the time.' },
        ],
      },
      lab: '?panel=profile',
    },
    {
      id: 'memory-level',
      question: 'Each decode step reads every weight once. Where do the weights live while the model decodes: which level of the memory hierarchy holds them?',
      prediction: {
        kind: 'choice',
        prompt: 'The level the weights fit in',
        field: 'level',
        options: [
          { value: 'L2', label: 'L2 cache (about 2 MiB per core)' },
          { value: 'L3', label: 'L3 cache (tens of MiB, shared)' },
          { value: 'DRAM', label: 'main memory (DRAM)' },
        ],
      },
      action: 'roofline',
      args: { query: '', runs: 3, rounds: 3, tokens: 32 },
      reads: ['level', 'level_gbps', 'weight_bytes', 'roofline_tokens_per_s'],
      explain:
        'The weights take {weight_bytes}, so they fit in {level}, which this tab reads at {level_gbps} (measured just now on a buffer of that size). Reading every weight once per token at that rate allows at most {roofline_tokens_per_s}: the memory roofline of decoding.',
      checkpoint: {
        question: 'If the weights were twice as large and fell out of that level, what happens to the roofline?',
        options: [
          { label: 'It drops more than 2×: twice the bytes, read from a slower level', correct: true, feedback: 'Right: bytes per token double and the bandwidth falls, so both effects multiply.' },
          { label: 'It stays the same: the FLOPs set the limit', correct: false, feedback: 'At one token per step, each weight is used once: bytes, not FLOPs, set this roofline.' },
          { label: 'It drops exactly 2×', correct: false, feedback: 'Only if the bandwidth stayed the same; a larger buffer is read from a slower level.' },
        ],
      },
      lab: '?panel=profile',
    },
    {
      id: 'roofline-gap',
      question: 'The roofline is an upper bound. How close does the real decoder come to it?',
      prediction: { kind: 'number', prompt: 'Measured speed as a share of the roofline', field: 'of_roofline', min: 0, max: 100, step: 1, unit: '%', default: 50 },
      action: 'roofline',
      args: { query: '', runs: 3, rounds: 3, tokens: 32 },
      reads: ['of_roofline', 'tokens_per_s', 'roofline_tokens_per_s', 'achieved_gbps', 'level_gbps'],
      explain:
        'Decoding ran at {tokens_per_s} against a roofline of {roofline_tokens_per_s}: {of_roofline} of it. The weights streamed at {achieved_gbps} of the {level_gbps} the level can give; the rest of the step is spent on arithmetic, attention and overheads the roofline leaves out.',
      checkpoint: {
        question: 'What does a result far below the roofline tell you?',
        options: [
          { label: 'The kernels, not the memory, are the limit: faster kernels can still help', correct: true, feedback: 'Yes: there is bandwidth to spare, so compute and overheads decide the speed. That is the next lesson.' },
          { label: 'The measurement is wrong', correct: false, feedback: 'The roofline is an upper bound; real code sits below it. The gap is information.' },
          { label: 'Only smaller weights can help', correct: false, feedback: 'Smaller weights lower the bound; when far below it, making the work itself faster helps first.' },
        ],
      },
      lab: '?panel=profile',
    },
    {
      id: 'naive-kernel',
      question: 'The lab runs the matrix products with a SIMD kernel. Switch to the naive loop: how long does one step take then?',
      prediction: { kind: 'number', prompt: 'Milliseconds per decode step, naive kernel', field: 'total_ms', min: 0, max: 200, step: 0.5, unit: 'ms', default: 10 },
      action: 'profile',
      args: { query: 'kernel=naive', tokens: 24, runs: 2 },
      reads: ['total_ms', 'weight_share', 'top_op'],
      explain:
        'With the naive kernel a step took {total_ms}, and the weight matrix ops grew to {weight_share} of it ({top_op} the largest). Same model, same bits of arithmetic: only the loop that multiplies changed.',
      checkpoint: {
        question: 'Why did the weight ops’ share change while the others did not?',
        options: [
          { label: 'Only the matmul kernel changed; the other ops run the same code', correct: true, feedback: 'Yes: the profile isolates the cost of the kernel. Acceleration is about that loop.' },
          { label: 'The naive kernel computes different numbers', correct: false, feedback: 'It computes the same products; it just does them one multiply-add at a time.' },
          { label: 'The model got larger', correct: false, feedback: 'The weights are the same bytes; the kernel is the only difference.' },
        ],
      },
      lab: '?panel=profile&kernel=naive',
    },
  ],
  handoff: 'Most of a token goes to multiplying by weight matrices, and the kernel that does it matters. Next: make those kernels faster (Acceleration).',
};
