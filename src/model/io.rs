//! safetensors I/O. The config and the vocabulary travel in the file's metadata
//! (`tinyopt.config`, `tinyopt.vocab`, both JSON), so the file also opens in Python.

use super::config::Config;
use super::gpt::Gpt;
use super::tokenizer::Tokenizer;
use crate::error::{format_err, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

pub const FORMAT: &str = "tinyopt-gpt";
const KEY_FORMAT: &str = "format";
const KEY_CONFIG: &str = "tinyopt.config";
const KEY_VOCAB: &str = "tinyopt.vocab";

/// Serialises the model (f32 tensors) with its config, vocabulary and `meta`.
pub fn save(model: &Gpt) -> Result<Vec<u8>> {
    let tensors = model.named_tensors();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            let view =
                TensorView::new(Dtype::F32, s.clone(), b).map_err(|e| format_err(e.to_string()))?;
            Ok((n.clone(), view))
        })
        .collect::<Result<_>>()?;
    let mut meta: HashMap<String, String> = model.meta.clone().into_iter().collect();
    meta.insert(KEY_FORMAT.into(), FORMAT.into());
    meta.insert(
        KEY_CONFIG.into(),
        serde_json::to_string(&model.cfg).expect("config serialises"),
    );
    meta.insert(
        KEY_VOCAB.into(),
        serde_json::to_string(&model.tokenizer.vocab_string()).expect("string serialises"),
    );
    safetensors::serialize(views, Some(meta)).map_err(|e| format_err(e.to_string()))
}

/// Loads a model, checking the header, every dtype and shape, and the metadata.
/// Any malformed input is an `Error::Format`, never a panic.
pub fn load(bytes: &[u8]) -> Result<Gpt> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format_err(describe(e)))?;
    let meta = header
        .metadata()
        .clone()
        .ok_or_else(|| format_err("no metadata: this is not a tinyopt model file"))?;
    let cfg_json = meta
        .get(KEY_CONFIG)
        .ok_or_else(|| format_err(format!("metadata lacks {KEY_CONFIG:?}")))?;
    let cfg: Config =
        serde_json::from_str(cfg_json).map_err(|e| format_err(format!("bad {KEY_CONFIG}: {e}")))?;
    let vocab_json = meta
        .get(KEY_VOCAB)
        .ok_or_else(|| format_err(format!("metadata lacks {KEY_VOCAB:?}")))?;
    let vocab: String = serde_json::from_str(vocab_json)
        .map_err(|e| format_err(format!("bad {KEY_VOCAB}: {e}")))?;
    let tokenizer = Tokenizer::new(&vocab).map_err(|e| format_err(e.to_string()))?;

    let st = SafeTensors::deserialize(bytes).map_err(|e| format_err(describe(e)))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(format_err(format!(
                "tensor {name:?} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), data));
    }
    let mut model = Gpt::from_named(cfg, tokenizer, tensors)?;
    for (k, v) in meta {
        if k != KEY_CONFIG && k != KEY_VOCAB && k != KEY_FORMAT {
            model.meta.insert(k, v);
        }
    }
    Ok(model)
}

fn describe(e: safetensors::SafeTensorError) -> String {
    format!("not a readable safetensors file ({e})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;

    fn small() -> Gpt {
        let cfg = Config {
            vocab: 65,
            ctx: 16,
            n_layer: 2,
            n_head: 2,
            d_model: 16,
        };
        let tok = Tokenizer::new(crate::model::tokenizer::DEFAULT_VOCAB).unwrap();
        Gpt::random(cfg, tok, 3).unwrap()
    }

    #[test]
    fn round_trip_is_exact() {
        let m = small();
        let bytes = save(&m).unwrap();
        let back = load(&bytes).unwrap();
        assert_eq!(back.cfg, m.cfg);
        assert_eq!(back.tokenizer, m.tokenizer);
        assert_eq!(back.named_tensors(), m.named_tensors());
        assert_eq!(back.meta.get("init"), m.meta.get("init"));
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let bytes = save(&small()).unwrap();
        // Truncated at many points, including inside the header.
        for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            let e = load(&bytes[..cut]).unwrap_err().to_string();
            assert!(e.starts_with("invalid weight file"), "cut {cut}: {e}");
        }
        // Garbage.
        assert!(load(b"hello, world, this is not a model").is_err());
        // Corrupted header length.
        let mut bad = bytes.clone();
        bad[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(load(&bad).is_err());
        // Corrupted header JSON.
        let mut bad = bytes.clone();
        bad[9] = b'!';
        assert!(load(&bad).is_err());
        // A NaN in the weights.
        let mut m = small();
        m.wpe[3] = f32::NAN;
        let e = load(&save(&m).unwrap()).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
    }

    #[test]
    fn wrong_shapes_and_configs_are_rejected() {
        let m = small();
        // Metadata claims a wider model than the tensors hold.
        let mut other = m.clone();
        other.cfg.d_model = 32;
        let e = load(&save_raw(&m, &other.cfg)).unwrap_err().to_string();
        assert!(e.contains("shape"), "{e}");
        // Absurd config.
        let mut huge = m.cfg;
        huge.n_head = 3;
        let e = load(&save_raw(&m, &huge)).unwrap_err().to_string();
        assert!(e.contains("divisible"), "{e}");
    }

    /// Saves `m`'s tensors under a different claimed config.
    fn save_raw(m: &Gpt, cfg: &Config) -> Vec<u8> {
        let bytes = save(m).unwrap();
        let (n, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let _ = n;
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        meta.insert(KEY_CONFIG.into(), serde_json::to_string(cfg).unwrap());
        let views: Vec<(String, TensorView<'_>)> = st.tensors();
        safetensors::serialize(views, Some(meta)).unwrap()
    }
}
