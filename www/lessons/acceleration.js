// Lesson: Acceleration, "make it faster". Data only (see docs/teaching.md).

const KERNELS = { prefill: 8, runs: 3, shape: 'square512', m: 1 };

export default {
  id: 'acceleration',
  title: 'Acceleration',
  question: 'How much faster can the same matrix product run, and how much of that reaches a generated token?',
  steps: [
    {
      id: 'blocked',
      question: 'The naive kernel walks the matrix one multiply-add at a time. The blocked kernel reuses each loaded input across several outputs. On a 512×512 matrix–vector product, how much faster is blocked?',
      prediction: { kind: 'number', prompt: 'Blocked speed over naive', field: 'blocked_speedup', min: 0.5, max: 20, step: 0.1, unit: '×', default: 2 },
      action: 'kernels',
      args: KERNELS,
      reads: ['blocked_speedup', 'naive_gflops', 'blocked_gflops', 'case'],
      explain: 'On {case}, naive reached {naive_gflops} and blocked {blocked_gflops}: {blocked_speedup}. Same arithmetic, fewer loads from memory per multiply-add.',
      checkpoint: {
        question: 'Where does blocking’s gain come from?',
        options: [
          { label: 'Each value loaded is used for several multiply-adds', correct: true, feedback: 'Yes: more arithmetic per byte loaded, so the loads stop being the bottleneck.' },
          { label: 'It skips zero weights', correct: false, feedback: 'That is sparsity (the Compression lesson); these weights are dense.' },
          { label: 'It uses fewer bits per weight', correct: false, feedback: 'Both kernels read the same f32 weights; only the loop order differs.' },
        ],
      },
      lab: '?panel=kernels',
    },
    {
      id: 'simd',
      question: 'The SIMD kernel multiplies four f32 lanes per instruction (wasm simd128). How much faster than naive is it on the same product?',
      prediction: { kind: 'number', prompt: 'SIMD speed over naive', field: 'simd_speedup', min: 0.5, max: 50, step: 0.1, unit: '×', default: 4 },
      action: 'kernels',
      args: KERNELS,
      reads: ['simd_speedup', 'simd_gflops', 'naive_gflops', 'blocked_gflops'],
      explain: 'SIMD reached {simd_gflops} against naive {naive_gflops} (blocked {blocked_gflops}): {simd_speedup}. Four lanes per instruction is the ceiling of vectorising alone; loop structure (blocking, unrolling) decides how close a kernel gets, or whether it passes it.',
      checkpoint: {
        question: 'Why can SIMD beat naive by more than 4× with 4 lanes?',
        options: [
          { label: 'It also changes the loop: several independent sums in flight, fewer loads per multiply-add', correct: true, feedback: 'Yes: lanes are one gain, loop structure another; they multiply.' },
          { label: 'It computes fewer products', correct: false, feedback: 'It computes the same products; the bits of its result are the same as the simd reference.' },
          { label: 'It cannot: a result above 4× is noise', correct: false, feedback: 'The spread across runs is in the report; the gain is consistent, not noise.' },
        ],
      },
      lab: '?panel=kernels',
    },
    {
      id: 'relaxed',
      question: 'Relaxed SIMD lets the CPU fuse multiply and add with its own rounding. Which kernel is fastest on this product in this browser?',
      prediction: {
        kind: 'choice',
        prompt: 'The fastest kernel',
        field: 'best_kernel',
        options: [
          { value: 'naive', label: 'naive' },
          { value: 'blocked', label: 'blocked' },
          { value: 'simd', label: 'simd' },
          { value: 'library', label: 'library (ndarray)' },
          { value: 'relaxed', label: 'relaxed' },
        ],
      },
      action: 'kernels',
      args: KERNELS,
      reads: ['best_kernel', 'relaxed_vs_simd', 'simd_gflops', 'relaxed_gflops'],
      explain: 'The fastest kernel here was {best_kernel}. Relaxed ran at {relaxed_gflops} against simd {simd_gflops}: {relaxed_vs_simd} (a dash means this browser has no relaxed SIMD). Its f32 results may differ in the last bits from CPU to CPU.',
      checkpoint: {
        question: 'What does relaxed SIMD trade for its speed?',
        options: [
          { label: 'Bit-exact results across machines', correct: true, feedback: 'Yes: fused multiply-add rounds once, so f32 bits can depend on the CPU. The Kernels tab measures how many.' },
          { label: 'Accuracy of the model', correct: false, feedback: 'The differences are in the last bits of f32; the model quality barely moves.' },
          { label: 'Memory', correct: false, feedback: 'It reads the same weights; it only changes the instructions.' },
        ],
      },
      lab: '?panel=kernels',
    },
    {
      id: 'decode-speedup',
      question: 'Kernels are only part of a token. Decoding with naive and then with simd (alternating, same model): how much faster is a whole token?',
      prediction: { kind: 'number', prompt: 'Decode tokens/s, simd over naive', field: 'speedup', min: 0.5, max: 30, step: 0.1, unit: '×', default: 3 },
      action: 'speed',
      args: { a: 'kernel=naive', b: 'kernel=simd', rounds: 3, tokens: 32 },
      reads: ['speedup', 'a_tokens_per_s', 'b_tokens_per_s', 'rounds'],
      explain: 'Naive decoded {a_tokens_per_s}, simd {b_tokens_per_s}: {speedup} over {rounds} alternating rounds. A whole token gains less than the kernel alone did, because the ops the kernel does not touch (attention, norms, softmax) keep their time: Amdahl’s law.',
      checkpoint: {
        question: 'If matmuls are 80 % of a step and become 10× faster, what is the best end-to-end speedup?',
        options: [
          { label: 'About 3.6×', correct: true, feedback: 'Yes: 1 / (0.2 + 0.8/10) ≈ 3.6. The untouched 20 % dominates.' },
          { label: '10×', correct: false, feedback: 'Only if everything became 10× faster; the other 20 % did not.' },
          { label: '8×', correct: false, feedback: 'Shares do not multiply like that: add the remaining times, 0.2 + 0.08.' },
        ],
      },
      lab: '?panel=quantize',
    },
  ],
  handoff: 'The kernels now do their arithmetic fast, and a token is still bound by reading every weight once. Next: read fewer bytes per weight (Quantization).',
};
