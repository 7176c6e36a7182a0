//! safetensors I/O. The config and the vocabulary travel in the file's metadata
//! (`tinyopt.config`, `tinyopt.vocab`, both JSON), so the file also opens in Python.

use super::config::Config;
use super::gpt::Gpt;
use super::tokenizer::Tokenizer;
use crate::error::{format_err, Result};
use crate::weights::Precision;
use crate::weights::{Act, Matrix, Storage};
use half::f16;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

pub const FORMAT: &str = "tinyopt-gpt";
const KEY_FORMAT: &str = "format";
const KEY_CONFIG: &str = "tinyopt.config";
const KEY_VOCAB: &str = "tinyopt.vocab";

/// Tensor name of a weight matrix's codes/values → its matrix name (`model::matrix_names`).
fn matrix_of_tensor(t: &str) -> Option<String> {
    match t {
        "wte" | "wpe" => Some(t.to_string()),
        "head.w" => Some("head".into()),
        _ => {
            let base = t.strip_suffix(".w")?;
            let ok = base.starts_with("h.")
                && ["attn.qkv", "attn.proj", "mlp.up", "mlp.down"]
                    .iter()
                    .any(|s| base.ends_with(s));
            ok.then(|| base.to_string())
        }
    }
}

fn le_bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_bytes_f16(v: &[f16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The `quant` metadata entry (the quantizer's config): it says, per matrix, how stored
/// int8 codes meet activations.
type QuantMeta = crate::quant::QuantConfig;

/// Serialises the model with its config, vocabulary and `meta`. Quantized matrices are
/// stored as they are held: codes (`I8`, or `U8` for packed int4, `F16` for half) under
/// the matrix's own name, with `<name>.scales` (F16) and, if calibrated,
/// `<name>.act_scale` (F32, one value). The scheme is in the `quant` metadata entry.
pub fn save(model: &Gpt) -> Result<Vec<u8>> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut probe = model.clone();
    for (name, shape, data) in model.named_tensors() {
        let mat = matrix_of_tensor(&name).and_then(|m| probe.matrix_mut(&m).map(|x| x.clone()));
        let Some(mat) = mat else {
            owned.push((name, Dtype::F32, shape, le_bytes_f32(&data)));
            continue;
        };
        match &mat.data {
            Storage::F32(v) => owned.push((name, Dtype::F32, shape, le_bytes_f32(v))),
            Storage::CsrF32(_) | Storage::CsrInt8 { .. } | Storage::SellF32(_) => {
                return Err(format_err(format!(
                    "{name}: sparse ({}) matrices are a run-time format and are not saved; export with the dense format",
                    mat.format_name()
                )))
            }
            Storage::F16(v) => owned.push((name, Dtype::F16, shape, le_bytes_f16(v))),
            Storage::Int8 { codes, scales, act } => {
                owned.push((
                    name.clone(),
                    Dtype::I8,
                    shape,
                    codes.iter().map(|&c| c as u8).collect(),
                ));
                owned.push((
                    format!("{name}.scales"),
                    Dtype::F16,
                    vec![mat.rows],
                    le_bytes_f16(scales),
                ));
                if let Act::Static(a) = act {
                    owned.push((
                        format!("{name}.act_scale"),
                        Dtype::F32,
                        vec![1],
                        le_bytes_f32(&[*a]),
                    ));
                }
            }
            Storage::Int4 {
                packed,
                scales_t,
                group,
                act_scale,
            } => {
                let gpr = mat.cols / group;
                let scales = crate::kernels::int4::scales_row_major(scales_t, mat.rows, gpr);
                owned.push((
                    name.clone(),
                    Dtype::U8,
                    vec![mat.rows, mat.cols / 2],
                    packed.clone(),
                ));
                owned.push((
                    format!("{name}.scales"),
                    Dtype::F16,
                    vec![mat.rows, gpr],
                    le_bytes_f16(&scales),
                ));
                if let Some(a) = act_scale {
                    owned.push((
                        format!("{name}.act_scale"),
                        Dtype::F32,
                        vec![1],
                        le_bytes_f32(&[*a]),
                    ));
                }
            }
        }
    }
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(n, dt, s, b)| {
            let view = TensorView::new(*dt, s.clone(), b).map_err(|e| format_err(e.to_string()))?;
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
    if meta.contains_key("quant") {
        meta.insert(
            "tinyopt.int4_layout".into(),
            "per 32 weights of a row, 16 bytes; byte j = (w[j]+8) | (w[j+16]+8) << 4".into(),
        );
    }
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
    let quant: Option<QuantMeta> = match meta.get("quant") {
        Some(q) => Some(
            serde_json::from_str(q).map_err(|e| format_err(format!("bad quant metadata: {e}")))?,
        ),
        None => None,
    };
    let raw: HashMap<String, (Dtype, Vec<usize>, &[u8])> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data())))
        .collect();
    let mut tensors = HashMap::new();
    let mut quantized: Vec<(String, Matrix)> = Vec::new();
    for (name, (dtype, shape, data)) in &raw {
        if name.ends_with(".scales") || name.ends_with(".act_scale") {
            if !raw.contains_key(name.rsplit_once('.').map(|x| x.0).unwrap_or("")) {
                return Err(format_err(format!("{name:?} belongs to no tensor")));
            }
            continue;
        }
        let f32_data = match dtype {
            Dtype::F32 => f32s(data),
            _ => {
                let mname = matrix_of_tensor(name).ok_or_else(|| {
                    format_err(format!(
                        "tensor {name:?} is {dtype:?}; only weight matrices may be quantized"
                    ))
                })?;
                let m = quantized_matrix(name, *dtype, shape, data, &raw, quant.as_ref())?;
                let deq = m.to_f32();
                quantized.push((mname, m));
                deq
            }
        };
        let logical = match dtype {
            Dtype::U8 if shape.len() == 2 => vec![shape[0], shape[1] * 2],
            _ => shape.clone(),
        };
        tensors.insert(name.clone(), (logical, f32_data));
    }
    let mut model = Gpt::from_named(cfg, tokenizer, tensors)?;
    for (name, m) in quantized {
        *model.matrix_mut(&name).expect("named by matrix_of_tensor") = m;
    }
    for (k, v) in meta {
        if k != KEY_CONFIG && k != KEY_VOCAB && k != KEY_FORMAT {
            model.meta.insert(k, v);
        }
    }
    Ok(model)
}

fn f32s(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn f16s(data: &[u8]) -> Vec<f16> {
    data.chunks_exact(2)
        .map(|c| f16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Rebuilds a quantized matrix from its tensors, checking every shape.
fn quantized_matrix(
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    data: &[u8],
    raw: &HashMap<String, (Dtype, Vec<usize>, &[u8])>,
    quant: Option<&QuantMeta>,
) -> Result<Matrix> {
    let bad = |what: &str| format_err(format!("tensor {name:?}: {what}"));
    if shape.len() != 2 {
        return Err(bad("a weight matrix must be 2-D"));
    }
    let rows = shape[0];
    let side = |suffix: &str, dt: Dtype| -> Result<Option<(Vec<usize>, &[u8])>> {
        match raw.get(&format!("{name}.{suffix}")) {
            None => Ok(None),
            Some((d, s, b)) if *d == dt => Ok(Some((s.clone(), *b))),
            Some((d, _, _)) => Err(bad(&format!("{suffix} is {d:?}, expected {dt:?}"))),
        }
    };
    let act_scale = match side("act_scale", Dtype::F32)? {
        Some((s, b)) if s == [1] => {
            let a = f32s(b)[0];
            if !(a.is_finite() && a > 0.0) {
                return Err(bad("activation scale must be a positive number"));
            }
            Some(a)
        }
        Some(_) => return Err(bad("act_scale must hold one value")),
        None => None,
    };
    let scales = side("scales", Dtype::F16)?;
    let check_scales = |sc: &[f16]| -> Result<()> {
        if sc.iter().any(|s| !s.is_finite()) {
            return Err(bad("scales hold NaN or infinite values"));
        }
        Ok(())
    };
    let data = match dtype {
        Dtype::F16 => {
            let v = f16s(data);
            check_scales(&v).map_err(|_| bad("f16 weights hold NaN or infinite values"))?;
            Storage::F16(v)
        }
        Dtype::I8 => {
            let (sshape, sb) = scales.ok_or_else(|| bad("int8 codes without .scales"))?;
            if sshape != [rows] {
                return Err(bad(&format!(
                    "scales have shape {sshape:?}, expected [{rows}]"
                )));
            }
            let sc = f16s(sb);
            check_scales(&sc)?;
            // Each matrix group may have its own precision (mixed-precision models).
            let precision = quant.map(|q| match matrix_of_tensor(name) {
                Some(m) => q.precision_for(&m),
                None => q.precision,
            });
            let weight_only = precision.map(|p| p == Precision::Int8).unwrap_or(true);
            let act = match (weight_only, act_scale) {
                (true, _) => Act::F32,
                (false, Some(a)) => Act::Static(a),
                (false, None) => Act::Dynamic,
            };
            Storage::Int8 {
                codes: data.iter().map(|&b| b as i8).collect(),
                scales: sc,
                act,
            }
        }
        Dtype::U8 => {
            let cols = shape[1] * 2;
            let (sshape, sb) = scales.ok_or_else(|| bad("int4 codes without .scales"))?;
            if sshape.len() != 2
                || sshape[0] != rows
                || sshape[1] == 0
                || !cols.is_multiple_of(sshape[1])
            {
                return Err(bad(&format!(
                    "scales have shape {sshape:?}, which does not fit {rows}x{cols}"
                )));
            }
            let group = cols / sshape[1];
            if !group.is_multiple_of(crate::kernels::int4::BLOCK) {
                return Err(bad(&format!(
                    "int4 group size {group} is not a multiple of 32"
                )));
            }
            let sc = f16s(sb);
            check_scales(&sc)?;
            Storage::Int4 {
                packed: data.to_vec(),
                scales_t: crate::kernels::int4::scales_group_major(&sc, rows, cols / group),
                group,
                act_scale,
            }
        }
        other => return Err(bad(&format!("unsupported dtype {other:?}"))),
    };
    let cols = if dtype == Dtype::U8 {
        shape[1] * 2
    } else {
        shape[1]
    };
    Ok(Matrix { rows, cols, data })
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
            d_model: 32,
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
    fn quantized_models_round_trip_exactly() {
        use crate::quant::{quantize_model, Precision, QuantConfig};
        let m = small();
        for &p in Precision::ALL {
            let qc = QuantConfig {
                precision: p,
                ..QuantConfig::default()
            };
            let q = quantize_model(&m, &qc, None, None).unwrap();
            let bytes = save(&q).unwrap();
            let back = load(&bytes).unwrap();
            assert_eq!(back.blocks, q.blocks, "{p:?}");
            assert_eq!(
                (&back.wte, &back.wpe, &back.head),
                (&q.wte, &q.wpe, &q.head),
                "{p:?}"
            );
            assert_eq!(back.weight_bytes(), q.weight_bytes(), "{p:?}");
            if p != Precision::F32 {
                assert!(
                    bytes.len() < save(&m).unwrap().len(),
                    "{p:?} file is not smaller"
                );
            }
        }
        // Mixed precision: int4 body, int8 (weight-only) ends, each kept as it was.
        let qc = QuantConfig {
            precision: Precision::Int4,
            ends_precision: Some(Precision::Int8),
            ..QuantConfig::default()
        };
        let q = quantize_model(&m, &qc, None, None).unwrap();
        assert_eq!(q.head.format_name(), "int8");
        assert_eq!(q.blocks[0].w_up.format_name(), "int4");
        let back = load(&save(&q).unwrap()).unwrap();
        assert_eq!(
            (&back.head, &back.wte, &back.blocks),
            (&q.head, &q.wte, &q.blocks)
        );
        // Per-group precisions: int8 weight-only head, W8A8 MLP down, int4 elsewhere.
        let mut qc = QuantConfig {
            precision: Precision::Int4,
            ..QuantConfig::default()
        };
        qc.per_matrix.head = Some(Precision::Int8);
        qc.per_matrix.mlp_down = Some(Precision::Int8Dynamic);
        let q = quantize_model(&m, &qc, None, None).unwrap();
        assert_eq!(q.head.format_name(), "int8");
        assert_eq!(q.blocks[0].w_down.format_name(), "int8-w8a8");
        assert_eq!(q.blocks[0].w_qkv.format_name(), "int4");
        let back = load(&save(&q).unwrap()).unwrap();
        assert_eq!((&back.head, &back.blocks), (&q.head, &q.blocks));

        // Scales of the wrong shape are caught.
        let qc = QuantConfig {
            precision: Precision::Int8,
            ..QuantConfig::default()
        };
        let q = quantize_model(&m, &qc, None, None).unwrap();
        let bytes = save(&q).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let bogus = vec![0u8; 6];
        let views: Vec<(String, TensorView<'_>)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| {
                if n == "head.w.scales" {
                    (n, TensorView::new(Dtype::F16, vec![3], &bogus).unwrap())
                } else {
                    (n, v)
                }
            })
            .collect();
        let bad = safetensors::serialize(views, header.metadata().clone()).unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("scales have shape"), "{e}");
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
        if let crate::weights::Storage::F32(v) = &mut m.wpe.data {
            v[3] = f32::NAN;
        }
        let e = load(&save(&m).unwrap()).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
    }

    /// A structurally pruned model (fewer heads and MLP neurons) saves smaller and
    /// loads back identical; widths beyond the config are refused.
    #[test]
    fn pruned_widths_round_trip() {
        use crate::prune::{prune_model, PruneConfig, PruneKind};
        let m = small();
        let cfg = PruneConfig {
            kind: PruneKind::Structured,
            ratio: 0.5,
            heads: 0.5,
            ..PruneConfig::default()
        };
        let (p, _) = prune_model(&m, &cfg).unwrap();
        let bytes = save(&p).unwrap();
        assert!(bytes.len() < save(&m).unwrap().len());
        let back = load(&bytes).unwrap();
        assert_eq!(back.named_tensors(), p.named_tensors());
        assert_eq!(back.n_params(), p.n_params());
        assert!(p.n_params() < m.cfg.n_params());
        // The wide model's tensors under a narrower claimed config are refused.
        let mut narrow = m.cfg;
        narrow.d_model /= 2;
        assert!(load(&save_raw(&m, &narrow)).is_err());
    }

    #[test]
    fn wrong_shapes_and_configs_are_rejected() {
        let m = small();
        // Metadata claims a wider model than the tensors hold.
        let mut other = m.clone();
        other.cfg.d_model = 64;
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
