//! Timing with warm-up, repeated samples and order statistics, through the one clock
//! (`crate::clock::now_ms`: `performance.now()` in the browser, `Instant` natively).
//!
//! Browsers coarsen `performance.now()` (to 100 µs unless the page is cross-origin
//! isolated), so each sample runs the closure `reps` times, with `reps` grown until a
//! sample lasts at least `min_sample_ms`; figures are per call.

use crate::clock;
use crate::stats::Summary;
use serde::Serialize;

/// How to time something.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timer {
    /// Untimed samples first: page in data, warm caches and the JIT.
    pub warmup: usize,
    /// Timed samples.
    pub runs: usize,
    /// Each sample repeats the call until it lasts at least this long.
    pub min_sample_ms: f64,
}

impl Default for Timer {
    fn default() -> Self {
        Timer {
            warmup: 2,
            runs: 15,
            min_sample_ms: 2.0,
        }
    }
}

/// Per-call times of one measurement, in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Calls per sample.
    pub reps: usize,
    /// Timed samples.
    pub runs: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// Interquartile range: the spread of the middle half of the samples.
    pub iqr_ms: f64,
    pub max_ms: f64,
}

impl Timing {
    /// Per-call figures from per-call samples.
    pub fn of(samples_ms: &[f64], reps: usize) -> Timing {
        let s = Summary::of(samples_ms);
        Timing {
            reps,
            runs: s.n,
            min_ms: s.min,
            median_ms: s.median,
            p90_ms: s.p90,
            p99_ms: s.p99,
            iqr_ms: s.iqr(),
            max_ms: s.max,
        }
    }
}

impl Timer {
    /// Times `f`: calibrates the repetitions, warms up, then takes `runs` samples.
    pub fn measure(&self, mut f: impl FnMut()) -> Timing {
        let mut reps = 1usize;
        loop {
            let ms = sample(&mut f, reps);
            if ms >= self.min_sample_ms || reps >= 1 << 24 {
                break;
            }
            // Aim a little past the target so the next try usually lands.
            let grow = if ms > 0.0 {
                (1.5 * self.min_sample_ms / ms).ceil() as usize
            } else {
                16
            };
            reps = reps.saturating_mul(grow.clamp(2, 1 << 10));
        }
        for _ in 0..self.warmup {
            sample(&mut f, reps);
        }
        let samples: Vec<f64> = (0..self.runs.max(1))
            .map(|_| sample(&mut f, reps) / reps as f64)
            .collect();
        Timing::of(&samples, reps)
    }
}

/// Milliseconds for `reps` calls.
fn sample(f: &mut impl FnMut(), reps: usize) -> f64 {
    let t0 = clock::now_ms();
    for _ in 0..reps {
        f();
    }
    clock::now_ms() - t0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_orders_statistics() {
        let mut calls = 0usize;
        let t = Timer {
            warmup: 1,
            runs: 5,
            min_sample_ms: 0.0,
        }
        .measure(|| calls += 1);
        assert_eq!((t.reps, t.runs), (1, 5));
        assert_eq!(calls, 1 + 1 + 5); // calibration, warm-up, runs
        assert!(t.min_ms <= t.median_ms && t.median_ms <= t.p90_ms && t.p90_ms <= t.max_ms);
        assert!(t.iqr_ms >= 0.0);
    }

    #[test]
    fn timing_of_known_samples() {
        let t = Timing::of(&[4.0, 1.0, 3.0, 2.0, 5.0], 10);
        assert_eq!((t.median_ms, t.iqr_ms, t.reps, t.runs), (3.0, 2.0, 10, 5));
    }
}
