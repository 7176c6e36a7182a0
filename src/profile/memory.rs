//! Memory by kind: weights by storage format, KV cache, activation scratch, and the
//! heap as the allocator sees it (current and peak, through a counting allocator).
//!
//! `CountingAlloc` wraps the system allocator with two relaxed atomic counters. The
//! library does not install it (a crate that links tinyopt keeps its own allocator):
//! the CLI binary and the wasm entry (`web.rs`) do; without it the heap reads "not
//! counted" rather than zero.

use crate::model::{Gpt, KvCache, Scratch};
use serde::Serialize;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Set by the first allocation through `CountingAlloc`: is it the global allocator?
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether `CountingAlloc` is this program's global allocator (heap figures are real).
pub fn counting() -> bool {
    INSTALLED.load(Relaxed)
}

/// The system allocator, counting live bytes and their high-water mark.
pub struct CountingAlloc;

impl CountingAlloc {
    #[inline]
    fn grew(by: usize) {
        INSTALLED.store(true, Relaxed);
        let now = CURRENT.fetch_add(by, Relaxed) + by;
        PEAK.fetch_max(now, Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

/// Live heap bytes (0 if the counting allocator is not installed).
pub fn heap_bytes() -> usize {
    CURRENT.load(Relaxed)
}

/// The most heap bytes live at once since start (or since `reset_peak`).
pub fn peak_heap_bytes() -> usize {
    PEAK.load(Relaxed)
}

/// Starts a new peak measurement from the current level.
pub fn reset_peak() {
    PEAK.store(CURRENT.load(Relaxed), Relaxed);
}

/// Bytes of the wasm linear memory (what the tab really holds); natively the live heap.
pub fn linear_memory_bytes() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) * 65536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        heap_bytes()
    }
}

/// One row of the memory table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryEntry {
    /// `weights`, `kv_cache`, `activations`, `heap`, `heap_peak` or `linear_memory`.
    pub kind: String,
    /// The storage format for weights (`f32`, ...), else what the figure covers.
    pub detail: String,
    pub bytes: usize,
}

/// Memory by kind. Weights, KV cache and activations are exact sizes of the buffers;
/// heap figures are what the allocator handed out (everything, not just the model).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryReport {
    pub entries: Vec<MemoryEntry>,
    pub weight_bytes: usize,
    pub kv_cache_bytes: usize,
    pub activation_bytes: usize,
    pub heap_bytes: usize,
    pub heap_peak_bytes: usize,
    pub linear_memory_bytes: usize,
}

/// Weight bytes of the model's matrices by storage format, plus its f32 vectors
/// (position embeddings, norms, biases) under `f32 vectors`.
pub fn weights_by_format(m: &Gpt) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    let mut matrices = 0;
    let mats = [&m.wte, &m.head].into_iter().chain(
        m.blocks
            .iter()
            .flat_map(|b| [&b.w_qkv, &b.w_o, &b.w_up, &b.w_down]),
    );
    for w in mats {
        *by.entry(format!("{} matrices", w.format_name()))
            .or_insert(0) += w.bytes();
        matrices += w.bytes();
    }
    by.insert("f32 vectors".into(), m.weight_bytes() - matrices);
    by
}

/// The memory table for a model with a KV cache and scratch of its config.
/// `kv` and `scratch` are those of the run being described (None: sized for one).
pub fn report(m: &Gpt, kv: Option<&KvCache>, scratch: Option<&Scratch>) -> MemoryReport {
    let kv_bytes = kv.map_or_else(|| m.kv_cache().bytes(), KvCache::bytes);
    let act = scratch.map_or_else(|| Scratch::new(&m.cfg).bytes(), Scratch::bytes);
    let mut entries: Vec<MemoryEntry> = weights_by_format(m)
        .into_iter()
        .map(|(detail, bytes)| MemoryEntry {
            kind: "weights".into(),
            detail,
            bytes,
        })
        .collect();
    let (heap, peak, lin) = (heap_bytes(), peak_heap_bytes(), linear_memory_bytes());
    let lin_detail = if cfg!(target_arch = "wasm32") {
        "wasm memory.size x 64 KiB"
    } else {
        "native: live heap"
    };
    for (kind, detail, bytes) in [
        (
            "kv_cache",
            "keys (n_layer, d_model, ctx) transposed + values (n_layer, ctx, d_model), as stored (f32, f16, or int8 + scales)",
            kv_bytes,
        ),
        ("activations", "forward scratch buffers", act),
        (
            "heap",
            if counting() {
                "live heap (counting allocator)"
            } else {
                "not counted: this program did not install profile::CountingAlloc"
            },
            heap,
        ),
        ("heap_peak", "peak live heap", peak),
        ("linear_memory", lin_detail, lin),
    ] {
        entries.push(MemoryEntry {
            kind: kind.into(),
            detail: detail.into(),
            bytes,
        });
    }
    MemoryReport {
        entries,
        weight_bytes: m.weight_bytes(),
        kv_cache_bytes: kv_bytes,
        activation_bytes: act,
        heap_bytes: heap,
        heap_peak_bytes: peak,
        linear_memory_bytes: lin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_and_peaks() {
        // Other tests allocate concurrently, so check lower bounds only.
        let v: Vec<u8> = Vec::with_capacity(8 << 20);
        assert!(heap_bytes() >= 8 << 20, "live heap {}", heap_bytes());
        assert!(peak_heap_bytes() >= 8 << 20);
        drop(v);
    }

    #[test]
    fn weights_add_up_by_format() {
        let m = Gpt::default_random(1);
        let by = weights_by_format(&m);
        assert_eq!(by.values().sum::<usize>(), m.weight_bytes());
        let c = m.cfg;
        let mats = 4 * (2 * c.vocab * c.d_model + c.n_layer * 12 * c.d_model * c.d_model);
        assert_eq!(by["f32 matrices"], mats);
        let r = report(&m, None, None);
        assert_eq!(r.kv_cache_bytes, 2 * 4 * c.n_layer * c.ctx * c.d_model);
        // A packed cache counts as stored: int8 codes and an f16 scale per position and head.
        let mut q = m.clone();
        q.kv_precision = crate::model::KvPrecision::Int8;
        let n = 2 * c.n_layer * c.ctx;
        assert_eq!(
            report(&q, None, None).kv_cache_bytes,
            n * c.d_model + n * c.n_head * 2
        );
        assert!(r
            .entries
            .iter()
            .any(|e| e.kind == "activations" && e.bytes > 0));
    }
}
