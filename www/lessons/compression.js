// Lesson: Compression, "remove what is unnecessary". Data only (see docs/teaching.md).

export default {
  id: 'compression',
  title: 'Compression',
  question: 'Which weights can go, what does removing them save, and when does a smaller model beat a pruned one?',
  steps: [
    {
      id: 'prune-kinds',
      question: 'Pruning 50 % of the weights: unstructured removes the smallest single weights, structured removes whole rows. How many times more KL does structured cost?',
      prediction: { kind: 'number', prompt: 'Structured KL over unstructured KL, at 50 %', field: 'kld_ratio', min: 0.1, max: 1000, step: 0.1, unit: '×', default: 5 },
      action: 'pruneCurve',
      args: { ratio: 0.5 },
      reads: ['kld_ratio', 'unstructured_kld', 'structured_kld'],
      explain: 'At 50 %, unstructured pruning cost a KL of {unstructured_kld}, structured {structured_kld}: {kld_ratio}. Removing whole rows takes out large weights with the small ones.',
      checkpoint: {
        question: 'Why prune structured at all, if it costs more quality?',
        options: [
          { label: 'The matrices become smaller and stay dense, so every kernel runs faster', correct: true, feedback: 'Yes: no index overhead, no sparse kernel needed.' },
          { label: 'It is more accurate', correct: false, feedback: 'The measured KL says the opposite.' },
          { label: 'Unstructured pruning does not save anything', correct: false, feedback: 'It can, in a sparse format, past a crossover: the next step measures it.' },
        ],
      },
      lab: '?panel=prune&prune-kind=structured&prune=0.5',
    },
    {
      id: 'sparse-crossover',
      question: 'A sparse format (CSR) skips zeros but reads an index per kept weight. From which sparsity on is CSR faster than the dense product (256×256)?',
      prediction: { kind: 'number', prompt: 'Sparsity where CSR starts to win', field: 'csr_crossover', min: 0, max: 100, step: 1, unit: '%', default: 70 },
      action: 'sparseSweep',
      args: { rows: 256, cols: 256, sparsities: [0.5, 0.7, 0.8, 0.9, 0.95], runs: 5 },
      reads: ['csr_crossover', 'sell_crossover', 'csr_speedup_max', 'top_sparsity'],
      explain: 'CSR first beat dense at {csr_crossover} sparsity, SELL at {sell_crossover} (a dash: not within the sweep). At {top_sparsity} CSR ran {csr_speedup_max} the dense speed. Below the crossover, the indices and irregular loads cost more than the skipped zeros save.',
      checkpoint: {
        question: 'What should 50 % unstructured pruning be stored as on this machine?',
        options: [
          { label: 'Dense (zeros kept), unless the sweep crossed over at 50 %', correct: true, feedback: 'Yes: the format follows the measured crossover, not the sparsity alone.' },
          { label: 'Always CSR', correct: false, feedback: 'Below the crossover CSR is slower than dense.' },
          { label: 'It does not matter', correct: false, feedback: 'The sweep shows the speed differs by format.' },
        ],
      },
      lab: '?panel=prune',
    },
    {
      id: 'prune-bytes',
      question: 'Unstructured 50 % in CSR: how many times smaller is the model in memory?',
      prediction: { kind: 'number', prompt: 'f32 dense bytes over pruned CSR bytes', field: 'bytes_ratio', min: 0.25, max: 4, step: 0.05, unit: '×', default: 2 },
      action: 'recipe',
      args: { query: 'prune-kind=unstructured&prune=0.5' },
      reads: ['bytes_ratio', 'weight_bytes', 'base_weight_bytes', 'sparsity', 'kld'],
      explain: 'At {sparsity} sparsity the model takes {weight_bytes} against {base_weight_bytes}: {bytes_ratio}. CSR keeps a 4-byte value and an index per weight left, so half the weights are not half the bytes. KL {kld}.',
      checkpoint: {
        question: 'Why is 50 % sparsity not 2× fewer bytes in CSR?',
        options: [
          { label: 'Each kept weight also stores its column index', correct: true, feedback: 'Yes: the index can cost as much as the value.' },
          { label: 'The zeros are still stored', correct: false, feedback: 'CSR stores only non-zeros; the overhead is the indices.' },
          { label: 'Pruning adds weights', correct: false, feedback: 'It only removes; the format adds bookkeeping.' },
        ],
      },
      lab: '?panel=prune&prune-kind=unstructured&prune=0.5',
    },
    {
      id: 'recover',
      question: 'Pruning 70 % of the weights without retraining loses most agreement with the teacher. Distilling the pruned copy back on text the teacher writes itself, for 30 s in this page: what top-1 agreement does it reach?',
      prediction: { kind: 'number', prompt: 'Top-1 agreement with the teacher after 30 s of recovery', field: 'top1_after', min: 0, max: 100, step: 1, unit: '%', default: 60 },
      action: 'recover',
      args: { kind: 'unstructured', ratio: 0.7, seconds: 30, samples: 16 },
      reads: ['top1_before', 'top1_after', 'top1_gain', 'kld_before', 'kld_after', 'steps', 'steps_per_s', 'sparsity'],
      explain: 'At {sparsity} sparsity the pruned model agreed with the teacher on {top1_before} of next characters (KL {kld_before}). {steps} distillation steps ({steps_per_s} in this browser), with the pruned weights held at zero, brought it to {top1_after} (KL {kld_after}): {top1_gain} more. No corpus was downloaded: the teacher sampled the training text.',
      checkpoint: {
        question: 'Why does recovery hold the pruned weights at exactly zero?',
        options: [
          { label: 'So the model keeps its sparsity: the remaining weights learn to make up for the removed ones', correct: true, feedback: 'Yes: the savings stay, the quality comes back.' },
          { label: 'Because zero weights cannot be trained', correct: false, feedback: 'They get gradients like any other; the mask puts them back to zero after each step.' },
          { label: 'It does not matter whether they stay zero', correct: false, feedback: 'Letting them move would undo the pruning.' },
        ],
      },
      lab: '?panel=prune',
    },
    {
      id: 'student',
      question: 'Distillation trains a smaller student to imitate the teacher. The shipped student against the teacher (both f32, alternating): how much faster does it decode?',
      prediction: { kind: 'number', prompt: 'Student tokens/s over teacher tokens/s', field: 'speedup', min: 0.5, max: 20, step: 0.1, unit: '×', default: 3 },
      action: 'shippedSpeed',
      args: { rounds: 3, tokens: 32 },
      reads: ['speedup', 'params_ratio', 'teacher_tokens_per_s', 'student_tokens_per_s', 'teacher_val_loss', 'student_val_loss'],
      explain: 'The teacher has {params_ratio} the student’s parameters. It decoded {teacher_tokens_per_s}, the student {student_tokens_per_s}: {speedup}. Validation loss: teacher {teacher_val_loss}, student {student_val_loss} (from training, as recorded in each file).',
      checkpoint: {
        question: 'What does distillation give that pruning does not?',
        options: [
          { label: 'A small dense model trained for its size, so plain fast kernels apply', correct: true, feedback: 'Yes: no sparse formats, and the training recovers quality a pruned model loses.' },
          { label: 'A bit-identical copy of the teacher', correct: false, feedback: 'The student imitates the teacher; its predictions differ.' },
          { label: 'Free quality', correct: false, feedback: 'The validation losses show what the smaller size costs.' },
        ],
      },
      lab: '?model=student',
    },
  ],
  handoff: 'Smaller weights and fewer of them make each step cheaper. But every token still redoes the work of the tokens before it. Next: keep that work (Caching).',
};
