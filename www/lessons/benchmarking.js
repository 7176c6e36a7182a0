// Lesson: Benchmarking, "combine everything, submit, rank". Data only (docs/teaching.md).

const SUITE = 'tinymlperf-v1-quick';

export default {
  id: 'benchmarking',
  title: 'Benchmarking',
  question: 'How do we compare optimisations fairly, with quality and speed measured under the same rules?',
  steps: [
    {
      id: 'reference',
      question: 'The suite scores a recipe against the f32 reference, measured in alternating rounds. What all-round score does the f32 reference itself get?',
      prediction: { kind: 'number', prompt: 'All-round score of f32 against itself', field: 'all_round', min: 0.25, max: 4, step: 0.01, unit: '×', default: 1 },
      action: 'bench',
      args: { query: '', suite: SUITE },
      reads: ['all_round', 'latency_ratio', 'gate', 'rounds'],
      explain: 'f32 against itself scored {all_round} (latency ratio {latency_ratio}) over {rounds} rounds; gate: {gate}. Its distance from 1× is this machine’s noise in a short run (the quick suite: 3 rounds of 16 tokens; the Benchmark tab’s full suite runs longer): a difference smaller than that is not a result.',
      checkpoint: {
        question: 'Why measure the reference in the same run as the candidate?',
        options: [
          { label: 'So both share the machine’s state: load, clocks, temperature', correct: true, feedback: 'Yes: alternating rounds cancel drift that separate runs would put into the ratio.' },
          { label: 'To save time', correct: false, feedback: 'It costs time; it buys fairness.' },
          { label: 'Because the reference changes', correct: false, feedback: 'The reference is fixed; the machine is what changes.' },
        ],
      },
      lab: '?panel=benchmark',
    },
    {
      id: 'int8-score',
      question: 'int8 weights: what all-round score will the suite give?',
      prediction: { kind: 'number', prompt: 'All-round score, int8', field: 'all_round', min: 0.25, max: 8, step: 0.01, unit: '×', default: 1.5 },
      action: 'bench',
      args: { query: 'precision=int8', suite: SUITE },
      reads: ['all_round', 'latency_ratio', 'gate', 'kld'],
      explain: 'int8 scored {all_round} all-round (latency {latency_ratio}) with a KL of {kld} on the suite’s evaluation; gate: {gate}.',
      checkpoint: {
        question: 'What does the gate decide?',
        options: [
          { label: 'Whether the quality loss is small enough to rank the speed at all', correct: true, feedback: 'Yes: a fast but broken model fails the gate and is not ranked with the others.' },
          { label: 'The speed tier', correct: false, feedback: 'The gate is about quality (perplexity against the reference).' },
          { label: 'Nothing: it is informational', correct: false, feedback: 'A failed gate keeps a record off the leaderboard’s ranking.' },
        ],
      },
      lab: '?panel=benchmark&precision=int8',
    },
    {
      id: 'int4-gate',
      question: 'int4 is smaller still. Does it pass the quality gate?',
      prediction: {
        kind: 'choice',
        prompt: 'The gate int4 gets',
        field: 'gate',
        options: [
          { value: '99.9%', label: 'passes the 99.9 % tier' },
          { value: '99%', label: 'passes the 99 % tier' },
          { value: 'fail', label: 'fails the gate' },
        ],
      },
      action: 'bench',
      args: { query: 'precision=int4', suite: SUITE },
      reads: ['gate', 'all_round', 'kld', 'latency_ratio'],
      explain: 'int4 got gate {gate} with a KL of {kld}; its all-round score was {all_round} (latency {latency_ratio}).',
      checkpoint: {
        question: 'On the Pareto chart (speed up, quality loss right), which recipes are worth submitting?',
        options: [
          { label: 'Those no other recipe beats on both speed and quality', correct: true, feedback: 'Yes: the Pareto frontier. Everything behind it is dominated.' },
          { label: 'Only the fastest', correct: false, feedback: 'The fastest may fail the gate; the frontier shows the trade-off.' },
          { label: 'Only the most accurate', correct: false, feedback: 'That is the reference; the point is to trade a little quality for speed.' },
        ],
      },
      lab: '?panel=benchmark&precision=int4',
    },
    {
      id: 'submit',
      question: 'W8A8 runs integer products. Its latency ratio against f32 in the suite?',
      prediction: { kind: 'number', prompt: 'Latency ratio, W8A8', field: 'latency_ratio', min: 0.25, max: 8, step: 0.01, unit: '×', default: 1.5 },
      action: 'bench',
      args: { query: 'precision=int8-dynamic', suite: SUITE },
      reads: ['latency_ratio', 'all_round', 'gate', 'recipe_id'],
      explain: 'Recipe {recipe_id} ran at {latency_ratio} the reference’s speed ({all_round} all-round), gate {gate}. The suite sealed a record of it: in the Benchmark tab, run the full suite and download the record to submit it; tinyopt verify checks it.',
      checkpoint: {
        question: 'Why is a submitted record sealed?',
        options: [
          { label: 'So an edited figure is detected when it is verified', correct: true, feedback: 'Yes: the seal and the recomputed quality figures catch tampering. Your lab report is sealed the same way.' },
          { label: 'To compress it', correct: false, feedback: 'It is plain JSON; the seal is a hash over it.' },
          { label: 'To hide the figures', correct: false, feedback: 'Everything stays readable; the seal makes it checkable.' },
        ],
      },
      lab: '?panel=benchmark&precision=int8-dynamic',
    },
  ],
  handoff: 'That is the course: measure first, make it faster, use fewer bits, remove what is unnecessary, stop redoing work, and compare fairly. Download your lab report below.',
};
