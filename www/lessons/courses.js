// The lessons and the orders a course takes them in (`?course=`). Reordering a course
// or following another numbering is an edit here; the lessons stay as they are.

import profiling from './profiling.js';
import acceleration from './acceleration.js';
import quantization from './quantization.js';
import compression from './compression.js';
import caching from './caching.js';
import benchmarking from './benchmarking.js';

/** Every lesson by id. */
export const LESSONS = Object.freeze(Object.fromEntries([profiling, acceleration, quantization, compression, caching, benchmarking].map((l) => [l.id, l])));

/** Course orders: each entry names a lesson and, optionally, the number, title and
 *  closing hand-off (to the lesson that follows in this order) it carries in that
 *  course. The first course is the default. */
export const COURSES = Object.freeze({
  seed: {
    title: 'ML-systems optimisation (the seed order)',
    lessons: ['profiling', 'acceleration', 'quantization', 'compression', 'caching', 'benchmarking'].map((id, i) => ({ id, number: String(i + 1) })),
  },
  tinytorch: {
    title: 'TinyTorch numbering (modules 14–19)',
    lessons: [
      { id: 'profiling', number: '14', handoff: 'Most of a token goes to reading and multiplying weight matrices. Next: read fewer bytes per weight (Quantization).' },
      { id: 'quantization', number: '15' },
      {
        id: 'compression',
        number: '16',
        handoff: 'Fewer and smaller weights make each step cheaper; the loops that multiply them decide how fast the rest runs. Next: make those kernels faster (Acceleration).',
      },
      { id: 'acceleration', number: '17', handoff: 'The kernels are fast, yet every token still redoes the work of the tokens before it. Next: keep that work (Memoization).' },
      { id: 'caching', number: '18', title: 'Memoization' },
      { id: 'benchmarking', number: '19' },
    ],
  },
});

export const DEFAULT_COURSE = 'seed';
