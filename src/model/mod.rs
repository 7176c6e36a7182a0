//! The GPT and everything it needs to generate text.

pub mod attention;
pub mod config;
pub mod generate;
pub mod gpt;
pub mod io;
pub mod kv_cache;
pub mod matrices;
pub mod ops;
pub mod sampler;
pub mod speculative;
pub mod tokenizer;

pub use config::Config;
pub use generate::{GenOptions, Generator, Step, StopReason};
pub use gpt::{Gpt, Logits, Scratch};
pub use kv_cache::{KvCache, KvPrecision};
pub use matrices::{is_end, matrix_names};
pub use speculative::{SpecGenerator, SpecStats};
pub use tokenizer::Tokenizer;
