//! The one clock: `performance.now()` in the browser, `Instant` natively.
//! (`std::time::Instant::now` panics on wasm32-unknown-unknown.)

/// Milliseconds since an arbitrary origin fixed for this process or page.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::disallowed_methods)] // the one sanctioned use of Instant::now, native only
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Milliseconds since the page (or worker) started; works in windows and workers.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    use wasm_bindgen::JsCast;
    thread_local! {
        static PERF: Option<web_sys::Performance> =
            js_sys::Reflect::get(&js_sys::global(), &"performance".into())
                .ok()
                .and_then(|p| p.dyn_into::<web_sys::Performance>().ok());
    }
    PERF.with(|p| {
        p.as_ref()
            .map(|p| p.now())
            .unwrap_or_else(js_sys::Date::now)
    })
}

/// Times a closure, returning its value and the elapsed milliseconds.
pub fn time_ms<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = now_ms();
    let v = f();
    (v, now_ms() - t0)
}
