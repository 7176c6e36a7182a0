//! Learning-rate schedule: linear warmup, then cosine decay to a floor.

/// The learning rate for 0-based `step` of `total`: rises linearly from `max/warmup`
/// to `max` over `warmup` steps, then follows a half cosine down to `min` at the end.
pub fn lr_at(step: usize, total: usize, warmup: usize, max: f32, min: f32) -> f32 {
    if step < warmup {
        return max * (step + 1) as f32 / warmup as f32;
    }
    let span = total.saturating_sub(warmup).max(1);
    let progress = ((step - warmup) as f32 / span as f32).min(1.0);
    // `detmath`: no libm, so the schedule has the same bits in wasm.
    min + 0.5 * (max - min) * (1.0 + crate::detmath::cos_pi(progress as f64) as f32)
}

/// The schedule's length that fills a time budget at the pace measured so far: `done`
/// steps took `elapsed_ms`, so about `(budget_ms - elapsed_ms) / (elapsed_ms / done)`
/// more fit. Between `done.max(1)` and `cap`. Fitted once, after the warmup (whose
/// rates do not depend on the length), so the cosine ends when the budget does.
pub fn fit_steps(done: usize, elapsed_ms: f64, budget_ms: f64, cap: usize) -> usize {
    let lo = done.max(1);
    if done == 0
        || elapsed_ms.is_nan()
        || elapsed_ms <= 0.0
        || budget_ms.is_nan()
        || budget_ms <= elapsed_ms
    {
        return lo.min(cap.max(lo));
    }
    let per = elapsed_ms / done as f64;
    let more = ((budget_ms - elapsed_ms) / per).floor();
    let total = if more >= (cap as f64) {
        cap
    } else {
        done + more as usize
    };
    total.clamp(lo, cap.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        assert!((lr_at(0, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-6);
        assert!((lr_at(9, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-6);
        assert!((lr_at(10, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-6);
        assert!((lr_at(55, 100, 10, 1.0, 0.1) - 0.55).abs() < 1e-5);
        assert!((lr_at(100, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-6);
        for s in 10..99 {
            assert!(lr_at(s + 1, 100, 10, 1.0, 0.1) <= lr_at(s, 100, 10, 1.0, 0.1));
        }
    }

    #[test]
    fn fitted_length_fills_the_budget() {
        // 5 steps in 10 s, 120 s budget: 55 more fit.
        assert_eq!(fit_steps(5, 10_000.0, 120_000.0, 1000), 60);
        assert_eq!(fit_steps(5, 10_000.0, 120_000.0, 30), 30, "capped");
        assert_eq!(
            fit_steps(5, 130_000.0, 120_000.0, 1000),
            5,
            "over budget: stop now"
        );
        assert_eq!(fit_steps(0, 0.0, 120_000.0, 1000), 1);
        // The warmup's rates do not depend on the length the fit chooses.
        for s in 0..5 {
            assert_eq!(lr_at(s, 60, 5, 1.0, 0.1), lr_at(s, 1000, 5, 1.0, 0.1));
        }
    }
}
