//! tinyopt: a small GPT and the optimisations an ML-systems course teaches,
//! measured for real, natively and in the browser.

pub mod bench;
pub mod benchmark;
pub mod choice;
pub mod clock;
pub mod detmath;
mod dispatch;
pub mod error;
pub mod eval;
pub mod gptq;
pub mod kernels;
pub mod lab_report;
pub mod model;
pub mod profile;
pub mod prune;
pub mod quality;
pub mod quant;
pub mod recipe;
pub mod rng;
pub mod search;
pub mod sparsity_sweep;
pub mod spec_sweep;
pub mod stats;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};

/// The unit tests count heap bytes like the CLI and the wasm entry do (they install
/// `profile::CountingAlloc` themselves; a crate linking the library keeps its own).
#[cfg(all(test, not(target_arch = "wasm32")))]
#[global_allocator]
static ALLOC: profile::CountingAlloc = profile::CountingAlloc;
