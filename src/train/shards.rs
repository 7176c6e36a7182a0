//! Runs one closure per shard: on its own thread natively, one after another in wasm
//! (a worker has one thread). Each shard's result depends only on its own inputs and
//! the caller combines them in shard order, so both give the same bits.

/// `f(i, &mut workers[i])` for every shard, results in shard order.
pub fn each<W: Send, R: Send>(workers: &mut [W], f: impl Fn(usize, &mut W) -> R + Sync) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = workers
                .iter_mut()
                .enumerate()
                .map(|(i, w)| s.spawn(move || f(i, w)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("shard thread panicked"))
                .collect()
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        workers
            .iter_mut()
            .enumerate()
            .map(|(i, w)| f(i, w))
            .collect()
    }
}
