// Lesson: Quantization, "use fewer bits". Data only (see docs/teaching.md).

const QUALITY = ['kld', 'top1_agreement'];

export default {
  id: 'quantization',
  title: 'Quantization',
  question: 'What do fewer bits per weight buy in bytes and speed, and what do they cost in quality?',
  steps: [
    {
      id: 'f16-bytes',
      question: 'f16 stores each weight in 2 bytes instead of 4. How many times smaller does the whole model get?',
      prediction: { kind: 'number', prompt: 'f32 bytes over f16 bytes', field: 'bytes_ratio', min: 1, max: 8, step: 0.05, unit: '×', default: 2 },
      action: 'recipe',
      args: { query: 'precision=f16' },
      reads: ['bytes_ratio', 'weight_bytes', 'base_weight_bytes', ...QUALITY],
      explain: 'f16 weights take {weight_bytes} against {base_weight_bytes} in f32: {bytes_ratio} smaller. Quality against f32 on the fixed evaluation set: KL {kld}, top-1 agreement {top1_agreement}.',
      checkpoint: {
        question: 'Why is the ratio not quite 2× for every file?',
        options: [
          { label: 'Parts of the model (e.g. norms, biases) may stay f32', correct: true, feedback: 'Yes: the recipe keeps small tensors in f32, so the whole file shrinks a little less than the big matrices.' },
          { label: 'f16 is 3 bytes', correct: false, feedback: 'f16 is exactly 2 bytes; the difference is in what is not converted.' },
          { label: 'Compression of the file', correct: false, feedback: 'These are the bytes the model holds in memory, not a zipped file.' },
        ],
      },
      lab: '?panel=quantize&precision=f16',
    },
    {
      id: 'int8-speed',
      question: 'int8 weights are about 4× smaller than f32. How much faster will decoding be (f32 and int8 alternating)?',
      prediction: { kind: 'number', prompt: 'int8 decode speed over f32', field: 'speedup', min: 0.25, max: 8, step: 0.05, unit: '×', default: 2 },
      action: 'speed',
      args: { a: '', b: 'precision=int8', rounds: 3, tokens: 32 },
      reads: ['speedup', 'bytes_ratio', 'a_tokens_per_s', 'b_tokens_per_s', 'a_bytes', 'b_bytes'],
      explain: 'int8 weights take {b_bytes} against {a_bytes}: {bytes_ratio} fewer bytes. Decoding went from {a_tokens_per_s} to {b_tokens_per_s}: {speedup}. Fewer bytes only speed a token up as far as reading them was the limit; unpacking int8 costs arithmetic the f32 kernel does not do.',
      checkpoint: {
        question: 'The bytes fell by much more than the time. What does that say?',
        options: [
          { label: 'Reading the weights was not the whole cost: arithmetic and other ops remain', correct: true, feedback: 'Yes: the next step checks where the weights sit and what that level allows.' },
          { label: 'int8 is broken', correct: false, feedback: 'Its quality is measured (the KL); the speed follows from what limited decoding.' },
          { label: 'The timer is too coarse', correct: false, feedback: 'Each figure is a median over alternating rounds with its spread in the report.' },
        ],
      },
      lab: '?panel=quantize&precision=int8',
    },
    {
      id: 'int8-level',
      question: 'Which memory level holds the int8 weights while decoding?',
      prediction: {
        kind: 'choice',
        prompt: 'The level the int8 weights fit in',
        field: 'level',
        options: [
          { value: 'L2', label: 'L2 cache' },
          { value: 'L3', label: 'L3 cache' },
          { value: 'DRAM', label: 'main memory (DRAM)' },
        ],
      },
      action: 'roofline',
      args: { query: 'precision=int8', runs: 3, rounds: 3, tokens: 32 },
      reads: ['level', 'level_gbps', 'weight_bytes', 'roofline_tokens_per_s', 'tokens_per_s', 'of_roofline'],
      explain: 'int8 weights ({weight_bytes}) fit in {level}, read here at {level_gbps}: the roofline is {roofline_tokens_per_s}. Decoding reached {tokens_per_s}, {of_roofline} of it. When the weights already sit in a fast cache level, shrinking them raises a bound decoding was not touching: the speed-up stays below the byte ratio.',
      checkpoint: {
        question: 'When would 4× fewer bytes give close to 4× more tokens/s?',
        options: [
          { label: 'When decoding runs near a memory roofline, e.g. weights streamed from DRAM', correct: true, feedback: 'Yes: then time is bytes divided by bandwidth, and fewer bytes is proportionally less time.' },
          { label: 'Always', correct: false, feedback: 'Only the memory-bound part of the time scales with bytes.' },
          { label: 'Never', correct: false, feedback: 'Large models on a laptop are memory-bound; there the ratio carries over.' },
        ],
      },
      lab: '?panel=profile&precision=int8',
    },
    {
      id: 'w8a8',
      question: 'W8A8 also quantizes the activations, so the product runs in integer arithmetic. Against int8 weights with f32 activations, how fast is it?',
      prediction: { kind: 'number', prompt: 'W8A8 decode speed over int8 (weights only)', field: 'speedup', min: 0.25, max: 8, step: 0.05, unit: '×', default: 1.2 },
      action: 'speed',
      args: { a: 'precision=int8', b: 'precision=int8-dynamic', rounds: 3, tokens: 32 },
      reads: ['speedup', 'a_tokens_per_s', 'b_tokens_per_s', 'bytes_ratio'],
      explain: 'int8 weights decoded {a_tokens_per_s}, W8A8 {b_tokens_per_s}: {speedup}, with the weight bytes in the ratio {bytes_ratio}. The same bytes are read; the difference is integer dot products against converting every weight to f32.',
      checkpoint: {
        question: 'What does W8A8 change compared with int8 weights alone?',
        options: [
          { label: 'The arithmetic: products run in integers, activations are quantized per token', correct: true, feedback: 'Yes: the bytes of the weights stay the same.' },
          { label: 'The weight bytes halve again', correct: false, feedback: 'Both store 8-bit weights: the byte ratio is close to 1.' },
          { label: 'Nothing: it is a renamed int8', correct: false, feedback: 'The kernel differs (integer dot products), and so does its speed.' },
        ],
      },
      lab: '?panel=quantize&precision=int8-dynamic',
    },
    {
      id: 'int4-quality',
      question: 'int4 keeps 16 levels per group of weights. How often does the int4 model still pick the same next character as f32?',
      prediction: { kind: 'number', prompt: 'Top-1 agreement with f32', field: 'top1_agreement', min: 0, max: 100, step: 0.5, unit: '%', default: 90 },
      action: 'recipe',
      args: { query: 'precision=int4' },
      reads: ['top1_agreement', 'kld', 'bytes_ratio', 'weight_bytes'],
      explain: 'int4 takes {weight_bytes} ({bytes_ratio} smaller than f32) and agrees with f32 on the top character {top1_agreement} of the time, with a KL divergence of {kld}. These quality figures are deterministic: the lab report carries them and the verifier recomputes them to the bit.',
      checkpoint: {
        question: 'Which figure shows quality loss first, even when top-1 still agrees?',
        options: [
          { label: 'The KL divergence', correct: true, feedback: 'Yes: it sees every probability, not only the top one, so it grows before the argmax changes.' },
          { label: 'The weight bytes', correct: false, feedback: 'Bytes measure size, not quality.' },
          { label: 'Tokens/s', correct: false, feedback: 'Speed says nothing about what the model predicts.' },
        ],
      },
      lab: '?panel=quantize&precision=int4',
    },
    {
      id: 'sensitivity',
      question: 'Quantizing one matrix at a time to int4: how many times larger is the worst matrix’s KL than the most robust one’s?',
      prediction: { kind: 'number', prompt: 'Worst over best KL', field: 'kld_spread', min: 1, max: 1000, step: 1, unit: '×', default: 10 },
      action: 'sensitivity',
      args: { query: 'precision=int4' },
      reads: ['kld_spread', 'worst_matrix', 'worst_kld', 'best_matrix', 'best_kld', 'matrices'],
      explain: 'Of {matrices} matrices, {worst_matrix} hurts most ({worst_kld}) and {best_matrix} least ({best_kld}): {kld_spread} apart. Mixed precision keeps the sensitive ones wider.',
      checkpoint: {
        question: 'What do you do with this table?',
        options: [
          { label: 'Keep the most sensitive matrices at higher precision', correct: true, feedback: 'Yes: most of the bytes saved, little of the quality lost.' },
          { label: 'Quantize the sensitive ones harder', correct: false, feedback: 'That makes the worst loss worse.' },
          { label: 'Nothing: all matrices matter equally', correct: false, feedback: 'The measured spread says they do not.' },
        ],
      },
      lab: '?panel=quantize&precision=int4',
    },
  ],
  handoff: 'Fewer bits per weight shrink every weight. Some weights may not be needed at all: next, remove them (Compression).',
};
