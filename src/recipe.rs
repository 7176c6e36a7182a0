//! The recipe: baseline model + {precision, pruning, kernel} → the model that runs.
//!
//! `Recipe` is the one definition every face reads. It owns the defaults, the validity
//! rules (ranges, which precisions compose with which sparse formats), normalisation
//! (settings that do not apply are reset, so equal models have equal recipes), the
//! calibration decision, the canonical JSON and its short hash `recipe_id`, and the flat
//! `key=value` spelling shared by the page's URL query and the CLI's flags
//! (`FIELDS`: the query key `group-size` is the flag `--group-size`). Values are always
//! the serde spellings (`choice_enum!`).
//!
//! Order of `build`: prune (on f32), then quantize, then pick the storage for the zeros.

use crate::choice::Choice;
use crate::error::{input_err, Result};
use crate::kernels::Kernel;
use crate::model::gpt::ActObserver;
use crate::model::speculative::{Draft, SpecConfig, MAX_DRAFT_TOKENS};
use crate::model::{Gpt, KvPrecision};
use crate::prune::{
    prune_model, record_unpruned, sparsify_blocks, PruneConfig, PruneKind, PruneStats, Scope,
    SparseFormat,
};
use crate::quant::{
    quantize_model, ActCalib, Clip, GptqOrder, Precision, QuantConfig, QuantMethod, MATRIX_GROUPS,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    pub quant: QuantConfig,
    pub prune: PruneConfig,
    pub kernel: Kernel,
    /// Speculative decoding (a draft model and K); absent from the JSON when off.
    #[serde(skip_serializing_if = "SpecConfig::is_off")]
    pub spec: SpecConfig,
    /// Storage of the KV cache. Left out of the JSON when f32, so the ids of recipes
    /// from before the setting existed stay what they were.
    #[serde(skip_serializing_if = "KvPrecision::is_f32")]
    pub kv_precision: KvPrecision,
}

/// Bounds of the recipe's numbers (inclusive).
pub const PRUNE_RATIO: (f32, f32) = (0.0, 0.95);
pub const PRUNE_HEADS: (f32, f32) = (0.0, 0.75);
pub const PERCENTILE: (f32, f32) = (50.0, 100.0);
pub const GROUP_SIZES: [usize; 3] = [32, 64, 128];

/// What a flat field holds, so a face can build its control without its own copy.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FieldKind {
    /// One of `choices` (the serde spellings, the default first).
    Choice { choices: Vec<String> },
    /// A number in `min..=max`.
    Number { min: f64, max: f64 },
    /// Present (`1`) or not.
    Flag,
}

/// One flat setting: the URL query key and, with `--`, the CLI flag.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    pub key: &'static str,
    pub kind: FieldKind,
    /// The value of `Recipe::default()`, spelled as in a query.
    pub default: String,
    pub help: &'static str,
}

/// The flat keys, in the order queries and commands write them.
pub const KEYS: [&str; 24] = [
    "precision",
    "quant-method",
    "gptq-order",
    "group-size",
    "clip",
    "act-calib",
    "percentile",
    "keep-f32-ends",
    "ends-precision",
    "embed-precision",
    "head-precision",
    "qkv-precision",
    "attn-out-precision",
    "mlp-up-precision",
    "mlp-down-precision",
    "prune",
    "prune-kind",
    "prune-heads",
    "prune-scope",
    "sparse-format",
    "kernel",
    "draft",
    "draft-tokens",
    "kv-precision",
];

fn names<C: Choice>() -> FieldKind {
    FieldKind::Choice {
        choices: C::NAMES.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every flat field with its kind, default and help (the CLI's `--help` and the page's
/// controls are built from this).
pub fn fields() -> Vec<Field> {
    let d = Recipe::default();
    // As decimals (0.95, not the f64 nearest the f32 0.95), for faces that show them.
    let dec = |x: f32| {
        x.to_string()
            .parse::<f64>()
            .expect("a float prints as a float")
    };
    let num = |(min, max): (f32, f32)| FieldKind::Number {
        min: dec(min),
        max: dec(max),
    };
    let kinds = |key: &str| -> (FieldKind, &'static str) {
        match key {
            "precision" => (names::<Precision>(), "weight (and activation) precision"),
            "quant-method" => (
                names::<QuantMethod>(),
                "int8/int4 rounding: to nearest, or GPTQ error compensation (calibrated)",
            ),
            "gptq-order" => (
                names::<GptqOrder>(),
                "gptq: column order (act-order: largest Hessian diagonal first)",
            ),
            "group-size" => (
                FieldKind::Choice {
                    choices: GROUP_SIZES.iter().map(|g| g.to_string()).collect(),
                },
                "int4 group size along a row (one scale per group)",
            ),
            "clip" => (
                names::<Clip>(),
                "how the weight range is chosen before rounding",
            ),
            "act-calib" => (
                names::<ActCalib>(),
                "int8 activation scales: per token at run time, or static from calibration",
            ),
            "percentile" => (
                num(PERCENTILE),
                "percentile of |x| for --act-calib percentile",
            ),
            "keep-f32-ends" => (FieldKind::Flag, "keep embeddings and the LM head in f32"),
            "ends-precision" => (
                names::<Precision>(),
                "precision of embeddings and LM head (mixed precision); default: the body's",
            ),
            k if group_key(k).is_some() => (
                names::<Precision>(),
                match group_key(k).expect("checked") {
                    "embed" => "precision of the token and position embeddings; default: the ends'",
                    "head" => "precision of the LM head; default: the ends'",
                    "qkv" => "precision of every block's attention qkv projection; default: the body's",
                    "attn-out" => "precision of every block's attention output projection; default: the body's",
                    "mlp-up" => "precision of every block's MLP up projection; default: the body's",
                    _ => "precision of every block's MLP down projection; default: the body's",
                },
            ),
            "prune" => (
                num(PRUNE_RATIO),
                "fraction pruned: of weights, or of MLP neurons",
            ),
            "prune-kind" => (names::<PruneKind>(), "what pruning removes"),
            "prune-heads" => (
                num(PRUNE_HEADS),
                "structured: fraction of attention heads removed per layer",
            ),
            "prune-scope" => (
                names::<Scope>(),
                "unstructured: where the threshold comes from",
            ),
            "sparse-format" => (
                names::<SparseFormat>(),
                "unstructured: storage of the zeros",
            ),
            "kernel" => (names::<Kernel>(), "matrix kernel"),
            "draft" => (
                names::<Draft>(),
                "speculative decoding: the model that drafts tokens for the target to verify",
            ),
            "draft-tokens" => (
                FieldKind::Number {
                    min: 1.0,
                    max: MAX_DRAFT_TOKENS as f64,
                },
                "speculative decoding: draft tokens per verify pass (K)",
            ),
            "kv-precision" => (
                names::<KvPrecision>(),
                "KV cache storage: f32, f16, or int8 with per-position, per-head scales",
            ),
            _ => unreachable!("every key has a kind"),
        }
    };
    KEYS.iter()
        .map(|&key| {
            let (kind, help) = kinds(key);
            Field {
                key,
                kind,
                default: d.get(key).unwrap_or_default(),
                help,
            }
        })
        .collect()
}

/// The matrix group (`quant::MATRIX_GROUPS` stem) of a per-group precision key.
pub fn group_key(key: &str) -> Option<&'static str> {
    let stem = key.strip_suffix("-precision")?;
    MATRIX_GROUPS.iter().copied().find(|g| *g == stem)
}

/// A number from text: finite, or an error naming the key.
fn number(key: &str, v: &str) -> Result<f32> {
    v.trim()
        .parse::<f32>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| input_err(format!("{key}: {v:?} is not a number")))
}

fn flag(key: &str, v: &str) -> Result<bool> {
    match v.trim() {
        "" | "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(input_err(format!("{key}: {v:?} is not 1 or 0"))),
    }
}

/// `x` if it is within the bounds (checked before anything is assigned).
fn in_range(key: &str, x: f32, (lo, hi): (f32, f32)) -> Result<f32> {
    if (lo..=hi).contains(&x) {
        Ok(x)
    } else {
        Err(input_err(format!("{key} must be in {lo}..={hi}, not {x}")))
    }
}

impl Recipe {
    /// The flat value of `key` (query spelling), or `None` when it is unset
    /// (`ends-precision` when the ends follow the body, a flag that is off).
    pub fn get(&self, key: &str) -> Option<String> {
        let (q, p) = (&self.quant, &self.prune);
        Some(match key {
            "precision" => q.precision.name().into(),
            "quant-method" => q.method.name().into(),
            "gptq-order" => q.gptq_order.name().into(),
            "group-size" => q.group_size.to_string(),
            "clip" => q.clip.name().into(),
            "act-calib" => q.act.name().into(),
            "percentile" => q.percentile.to_string(),
            "keep-f32-ends" => return (!q.quantize_ends).then(|| "1".into()),
            "ends-precision" => return q.ends_precision.map(|e| e.name().into()),
            k if group_key(k).is_some() => {
                return q.per_matrix.get(group_key(k)?).map(|e| e.name().into())
            }
            "prune" => p.ratio.to_string(),
            "prune-kind" => p.kind.name().into(),
            "prune-heads" => p.heads.to_string(),
            "prune-scope" => p.scope.name().into(),
            "sparse-format" => p.format.name().into(),
            "kernel" => self.kernel.name().into(),
            "draft" => self.spec.draft.name().into(),
            "draft-tokens" => self.spec.tokens.to_string(),
            "kv-precision" => self.kv_precision.name().into(),
            _ => return None,
        })
    }

    /// Sets one flat field from its query/flag spelling. Values are checked for their
    /// spelling and range here; combinations are checked by `normalized`.
    pub fn set(&mut self, key: &str, v: &str) -> Result<()> {
        let (q, p) = (&mut self.quant, &mut self.prune);
        match key {
            "precision" => q.precision = Precision::parse(v)?,
            "quant-method" => q.method = QuantMethod::parse(v)?,
            "gptq-order" => q.gptq_order = GptqOrder::parse(v)?,
            "group-size" => {
                q.group_size = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|g| GROUP_SIZES.contains(g))
                    .ok_or_else(|| {
                        input_err(format!("group-size must be 32, 64 or 128, not {v:?}"))
                    })?
            }
            "clip" => q.clip = Clip::parse(v)?,
            "act-calib" => q.act = ActCalib::parse(v)?,
            "percentile" => q.percentile = in_range(key, number(key, v)?, PERCENTILE)?,
            "keep-f32-ends" => q.quantize_ends = !flag(key, v)?,
            "ends-precision" => {
                q.ends_precision = match v {
                    "" => None,
                    _ => Some(Precision::parse(v)?),
                }
            }
            k if group_key(k).is_some() => {
                *q.per_matrix.slot_mut(group_key(k).expect("checked")) = match v {
                    "" => None,
                    _ => Some(Precision::parse(v)?),
                }
            }
            "prune" => p.ratio = in_range(key, number(key, v)?, PRUNE_RATIO)?,
            "prune-kind" => p.kind = PruneKind::parse(v)?,
            "prune-heads" => p.heads = in_range(key, number(key, v)?, PRUNE_HEADS)?,
            "prune-scope" => p.scope = Scope::parse(v)?,
            "sparse-format" => p.format = SparseFormat::parse(v)?,
            "kernel" => self.kernel = Kernel::parse(v)?,
            "draft" => self.spec.draft = Draft::parse(v)?,
            "draft-tokens" => {
                self.spec.tokens = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|k| (1..=MAX_DRAFT_TOKENS).contains(k))
                    .ok_or_else(|| {
                        input_err(format!(
                        "draft-tokens must be a whole number in 1..={MAX_DRAFT_TOKENS}, not {v:?}"
                    ))
                    })?
            }
            "kv-precision" => self.kv_precision = KvPrecision::parse(v)?,
            _ => {
                return Err(input_err(format!(
                    "unknown recipe setting {key:?}; known: {}",
                    KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Checks every rule and resets what does not apply to its default, so two recipes
    /// that build the same model are equal (and share a `recipe_id`), and the default
    /// recipe is its own normal form. The error says what to change.
    pub fn normalized(&self) -> Result<Recipe> {
        let mut r = *self;
        let (q, p) = (&mut r.quant, &mut r.prune);
        q.validate()?;
        p.validate()?;

        // Pruning: a ratio with no kind is unstructured (the default kind); no ratio and
        // no heads is no pruning; settings of the other kinds reset.
        if p.kind == PruneKind::None && p.ratio > 0.0 {
            p.kind = PruneKind::Unstructured;
        }
        if p.kind != PruneKind::Structured && p.heads != 0.0 {
            return Err(input_err(
                "prune-heads applies to structured pruning only (prune-kind structured)",
            ));
        }
        if p.ratio == 0.0 && p.heads == 0.0 {
            p.kind = PruneKind::None;
        }
        if p.kind != PruneKind::Unstructured {
            p.scope = Scope::default();
            p.format = SparseFormat::default();
        }

        // Precision: f32 quantizes nothing; the ends follow the body unless told.
        if q.ends_precision == Some(Precision::F32) {
            q.quantize_ends = false;
        }
        if !q.quantize_ends || q.ends_precision == Some(q.precision) {
            q.ends_precision = None;
        }
        if q.precision == Precision::F32 && (q.ends_precision.is_some() || !q.quantize_ends) {
            return Err(input_err(
                "ends-precision and keep-f32-ends need a quantized body (precision other than f32)",
            ));
        }
        // Per-group precisions: the ends' spelled as `ends-precision`/`keep-f32-ends`
        // when both ends agree, any group's left out when it equals its default.
        let (e_embed, e_head) = (q.group_precision("embed"), q.group_precision("head"));
        q.per_matrix.embed = None;
        q.per_matrix.head = None;
        if e_embed == e_head && !(q.precision == Precision::F32 && e_embed != Precision::F32) {
            q.quantize_ends = e_embed != Precision::F32 || q.precision == Precision::F32;
            q.ends_precision = (q.quantize_ends && e_embed != q.precision).then_some(e_embed);
        } else {
            q.quantize_ends = true;
            q.ends_precision = None;
            q.per_matrix.embed = (e_embed != q.group_default("embed")).then_some(e_embed);
            q.per_matrix.head = (e_head != q.group_default("head")).then_some(e_head);
        }
        for g in ["qkv", "attn-out", "mlp-up", "mlp-down"] {
            let slot = q.per_matrix.slot_mut(g);
            if *slot == Some(q.precision) {
                *slot = None;
            }
        }
        let all_used = q.used();
        let used = |x: Precision| all_used.contains(&x);
        if !used(Precision::Int4) {
            q.group_size = QuantConfig::default().group_size;
        }
        if !(used(Precision::Int8) || used(Precision::Int8Dynamic) || used(Precision::Int4)) {
            q.clip = Clip::default();
        }
        if !(used(Precision::Int8Dynamic) || used(Precision::Int4)) {
            q.act = ActCalib::default();
        }
        if q.act != ActCalib::Percentile {
            q.percentile = QuantConfig::default().percentile;
        }
        let integer =
            used(Precision::Int8) || used(Precision::Int8Dynamic) || used(Precision::Int4);
        if !integer {
            q.method = QuantMethod::default();
        }
        if q.method != QuantMethod::Gptq {
            q.gptq_order = GptqOrder::default();
        }

        // Speculative decoding: K means nothing without a draft; the verify pass must
        // reproduce the target's decode bits (`speculative::verify_is_exact`).
        if r.spec.is_off() {
            r.spec = SpecConfig::default();
        } else {
            if !(1..=MAX_DRAFT_TOKENS).contains(&r.spec.tokens) {
                return Err(input_err(format!(
                    "draft-tokens must be in 1..={MAX_DRAFT_TOKENS}, not {}",
                    r.spec.tokens
                )));
            }
            crate::model::speculative::verify_is_exact(r.kernel)?;
        }
        let (q, p) = (&mut r.quant, &mut r.prune);

        // Which body precisions each sparse format can hold.
        let format = if p.kind == PruneKind::Unstructured {
            p.format
        } else {
            SparseFormat::Dense
        };
        let body: Vec<Precision> = ["qkv", "attn-out", "mlp-up", "mlp-down"]
            .iter()
            .map(|g| q.group_precision(g))
            .collect();
        for pr in body {
            check_format(format, pr)?;
        }
        Ok(r)
    }

    /// The canonical JSON: the normalised recipe, every field, fixed order.
    pub fn canonical_json(&self) -> Result<String> {
        Ok(serde_json::to_string(&self.normalized()?).expect("a recipe serialises"))
    }

    /// A short, stable id of the canonical JSON: the first 12 hex digits of its sha256.
    pub fn id(&self) -> Result<String> {
        let digest = Sha256::digest(self.canonical_json()?.as_bytes());
        Ok(digest[..6].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses a recipe given as canonical JSON (`{...}`) or as a query string
    /// (`?precision=int4&prune=0.5…`; keys not in `KEYS` are ignored, so a whole page
    /// URL works). Strict: any bad value is an error. Returns the normalised recipe.
    pub fn parse(text: &str) -> Result<Recipe> {
        let t = text.trim();
        let r = if t.starts_with('{') {
            serde_json::from_str::<Recipe>(t)
                .map_err(|e| input_err(format!("bad recipe JSON: {e}")))?
        } else {
            let query = t.rsplit_once('?').map_or(t, |(_, q)| q);
            let (r, problems) = Recipe::from_query(query);
            if let Some(p) = problems.into_iter().next() {
                return Err(input_err(p));
            }
            r
        };
        r.normalized()
    }

    /// Reads the recipe keys of a query string leniently, as a page must read a shared
    /// link: each bad value keeps its default and is reported in the returned list.
    /// The result is not yet normalised (see `from_query_normalized`).
    pub fn from_query(query: &str) -> (Recipe, Vec<String>) {
        let mut r = Recipe::default();
        let mut problems = Vec::new();
        for (k, v) in query_pairs(query) {
            if KEYS.contains(&k.as_str()) {
                if let Err(e) = r.set(&k, &v) {
                    problems.push(e.to_string());
                }
            }
        }
        (r, problems)
    }

    /// `from_query`, then normalised; if the combination is invalid, the default recipe
    /// with the reason (a hostile or stale link still opens the page).
    pub fn from_query_normalized(query: &str) -> (Recipe, Vec<String>) {
        let (r, mut problems) = Recipe::from_query(query);
        match r.normalized() {
            Ok(n) => (n, problems),
            Err(e) => {
                problems.push(e.to_string());
                let d = Recipe::default()
                    .normalized()
                    .expect("the default is valid");
                (d, problems)
            }
        }
    }

    /// The flat pairs of a normalised recipe that a query needs: those whose absence
    /// (the default) would build another recipe. In `KEYS` order; a short URL.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let d = Recipe::default();
        KEYS.iter()
            .filter_map(|&k| {
                let v = self.get(k)?;
                let mut without = *self;
                let dv = d.get(k).unwrap_or_else(|| {
                    if k == "keep-f32-ends" {
                        "0".into()
                    } else {
                        String::new()
                    }
                });
                without.set(k, &dv).expect("defaults are valid");
                (without.normalized().ok() != Some(*self)).then_some((k, v))
            })
            .collect()
    }

    /// The query string of `to_pairs` (no leading `?`; empty for the default recipe).
    pub fn to_query(&self) -> String {
        self.to_pairs()
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The CLI flags of `to_pairs` (`--precision int4 --keep-f32-ends …`).
    pub fn to_cli_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.to_pairs() {
            out.push(format!("--{k}"));
            if k != "keep-f32-ends" {
                out.push(v);
            }
        }
        out
    }

    /// Whether building needs activation statistics (static int8 activation scales).
    pub fn needs_calibration(&self) -> bool {
        self.quant.needs_calibration()
    }

    /// Whether the recipe computes what the weights as loaded compute (only the kernel
    /// may differ): no build and no quality measurement needed. A packed KV cache
    /// changes the logits, so it is not the identity.
    pub fn is_identity(&self) -> bool {
        self.quant.precision == Precision::F32
            && self.prune.kind == PruneKind::None
            && self.kv_precision == KvPrecision::F32
    }
}

/// Whether a sparse format can hold a matrix of precision `pr`; the error says what to change.
fn check_format(format: SparseFormat, pr: Precision) -> Result<()> {
    match (format, pr) {
        (SparseFormat::Dense, _) | (SparseFormat::Csr, Precision::F32 | Precision::Int8) => {}
        (SparseFormat::Sell, Precision::F32) => {}
        (SparseFormat::Csr, Precision::Int8Dynamic) => {
            return Err(input_err(
                "csr holds int8 weights with f32 activations (W8A32) and has no W8A8 kernel: \
                 use precision int8 with csr, or int8-dynamic with sparse-format dense",
            ))
        }
        (f, pr) => {
            let holds = if f == SparseFormat::Sell {
                "f32"
            } else {
                "f32 or int8"
            };
            return Err(input_err(format!(
                "sparse-format {f} holds {holds} weights, not {pr}: pick another \
                 precision, or sparse-format dense"
            )));
        }
    }
    Ok(())
}

/// `k=v` pairs of a query string, percent-decoded (`+` is a space).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 2;
            }
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

/// Applies `r` to a copy of `base`. `calib` holds activation statistics of `base`
/// when the recipe asks for static activation scales (`needs_calibration`). The recipe
/// is normalised first: an invalid combination is an error, never a silently
/// different model.
pub fn build(base: &Gpt, r: &Recipe, calib: Option<&ActObserver>) -> Result<(Gpt, PruneStats)> {
    let r = r.normalized()?;
    r.kernel.runs_here()?;
    let (mut m, stats) = if r.prune.kind == PruneKind::None {
        // Nothing to prune: quantize straight from the base (one copy, not two).
        r.prune.validate()?;
        record_unpruned(quantize_model(base, &r.quant, calib, None)?, &r.prune)
    } else {
        let (pruned, stats) = prune_model(base, &r.prune)?;
        (quantize_model(&pruned, &r.quant, calib, None)?, stats)
    };
    if r.prune.kind == PruneKind::Unstructured && r.prune.format != SparseFormat::Dense {
        sparsify_blocks(&mut m, r.prune.format)?;
    }
    m.kernel = r.kernel;
    m.kv_precision = r.kv_precision;
    Ok((m, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Recipe {
        Recipe::parse(s).unwrap()
    }

    #[test]
    fn default_is_the_identity_with_an_empty_query() {
        let d = Recipe::default();
        assert_eq!(d.normalized().unwrap(), d);
        assert!(d.is_identity());
        assert_eq!(d.to_query(), "");
        assert_eq!(q("?"), d);
        assert_eq!(d.id().unwrap().len(), 12);
    }

    #[test]
    fn json_query_and_flags_round_trip_exactly() {
        let cases = [
            "precision=int4&group-size=64&clip=search&act-calib=percentile&percentile=99.5",
            "precision=int4&ends-precision=int8",
            "precision=int4&quant-method=gptq&gptq-order=act-order&group-size=128",
            "precision=int8&quant-method=gptq&prune=0.5",
            "precision=int4&quant-method=gptq&head-precision=int8&mlp-down-precision=int8",
            "precision=int4&embed-precision=f32&head-precision=int8",
            "embed-precision=int8&mlp-up-precision=int4",
            "precision=int8&keep-f32-ends=1&prune=0.9",
            "precision=int8-dynamic&act-calib=min-max&prune=0.5&prune-kind=structured&prune-heads=0.25",
            "prune=0.75&prune-scope=per-matrix&sparse-format=sell&kernel=naive",
            "prune=0.3&sparse-format=dense",
            "prune-kind=structured&prune-heads=0.5",
            "precision=int4&kv-precision=int8",
            "prune=0.5&kv-precision=f16",
        ];
        for c in cases {
            let r = q(c);
            assert_eq!(r.to_query(), c, "query of {c}");
            let json = r.canonical_json().unwrap();
            assert_eq!(q(&json), r, "json of {c}");
            assert_eq!(serde_json::to_string(&r).unwrap(), json);
            let flags = r.to_cli_args();
            let mut back = Recipe::default();
            let mut it = flags.iter();
            while let Some(f) = it.next() {
                let k = f.strip_prefix("--").unwrap();
                let v = if k == "keep-f32-ends" {
                    "1"
                } else {
                    it.next().unwrap()
                };
                back.set(k, v).unwrap();
            }
            assert_eq!(back.normalized().unwrap(), r, "flags of {c}");
        }
    }

    #[test]
    fn recipe_id_is_stable_and_ignores_what_does_not_apply() {
        // Pinned: a change here changes every submission's id; do it on purpose only.
        assert_eq!(
            Recipe::default().id().unwrap(),
            Recipe::default().id().unwrap()
        );
        let a = q("precision=int8&group-size=128&act-calib=percentile");
        let b = q("precision=int8");
        assert_eq!(a, b, "int8 (W8A32) has no groups and no activation scales");
        assert_eq!(a.id().unwrap(), b.id().unwrap());
        assert_eq!(q("prune=0&prune-kind=structured"), q(""));
        assert_eq!(
            q("prune=0.5&prune-kind=none"),
            q("prune=0.5&prune-kind=unstructured")
        );
        assert_ne!(
            q("precision=int4").id().unwrap(),
            q("precision=int8").id().unwrap()
        );
        // Rounding to nearest is left out of the JSON, so ids from before GPTQ hold;
        // GPTQ on nothing integer is no GPTQ.
        assert!(!q("precision=int4")
            .canonical_json()
            .unwrap()
            .contains("method"));
        assert_ne!(q("precision=int4&quant-method=gptq"), q("precision=int4"));
        assert_eq!(q("precision=f16&quant-method=gptq"), q("precision=f16"));
        assert_eq!(
            q("precision=int4&gptq-order=act-order"),
            q("precision=int4")
        );
        // Per-group precisions take the shortest spelling: both ends alike are the
        // ends' precision, a group at its default is left out.
        assert_eq!(
            q("precision=int4&embed-precision=int8&head-precision=int8"),
            q("precision=int4&ends-precision=int8")
        );
        assert_eq!(
            q("precision=int4&embed-precision=f32&head-precision=f32"),
            q("precision=int4&keep-f32-ends=1")
        );
        assert_eq!(q("precision=int4&qkv-precision=int4"), q("precision=int4"));
        assert_eq!(
            q("precision=int8&head-precision=int4")
                .quant
                .precision_for("head"),
            Precision::Int4
        );
        assert!(!q("precision=int4&ends-precision=int8")
            .canonical_json()
            .unwrap()
            .contains("per_matrix"));
        // Unstructured pruning defaults to CSR on every face, from a query or from a
        // canonical recipe that had no pruning.
        assert_eq!(q("prune=0.5").prune.format, SparseFormat::Csr);
        let mut r = q("precision=int8");
        r.set("prune", "0.5").unwrap();
        assert_eq!(r.normalized().unwrap().prune.format, SparseFormat::Csr);
        // The default cache is left out of the canonical JSON (older ids stay valid).
        assert!(!q("").canonical_json().unwrap().contains("kv"));
        assert!(q("kv-precision=int8")
            .canonical_json()
            .unwrap()
            .contains("\"kv_precision\":\"int8\""));
        assert_eq!(q("kv-precision=f32"), q(""));
        assert!(!q("kv-precision=f16").is_identity());
        // A range is checked before the value is kept.
        let mut r = q("");
        assert!(r.set("prune", "9").is_err());
        assert_eq!(r, q(""));
    }

    #[test]
    fn invalid_combinations_and_values_are_clear_errors() {
        let err = |s: &str| Recipe::parse(s).unwrap_err().to_string();
        assert!(err("precision=int8-dynamic&prune=0.9&sparse-format=csr").contains("W8A8"));
        assert!(err("precision=int4&prune=0.9&sparse-format=csr").contains("not int4"));
        assert!(err("precision=int8&prune=0.9&sparse-format=sell").contains("holds f32"));
        assert!(err("precision=f16&prune=0.9").contains("not f16"));
        assert!(err("precision=int3").contains("int8-dynamic"));
        assert!(err("group-size=48").contains("32, 64 or 128"));
        assert!(err("prune=1.5").contains("0..=0.95"));
        assert!(err("prune=NaN").contains("not a number"));
        assert!(err("percentile=inf").contains("not a number"));
        assert!(err("prune-heads=0.5&prune=0.5").contains("structured"));
        assert!(err("keep-f32-ends=1").contains("quantized body"));
        assert!(err("{\"quant\":{\"precision\":\"int2\"}}").contains("int2"));
        assert!(err("{\"bogus\":1}").contains("bogus"));
        assert!(err("prune-scope=permatrix").contains("per-matrix"));
        assert!(err("act-calib=minmax").contains("min-max"));
        assert!(err("qkv-precision=int3").contains("int8-dynamic"));
        assert!(err("precision=int8&mlp-up-precision=int4&prune=0.5").contains("not int4"));
        assert!(err("kv-precision=int4").contains("f32, f16, int8"));
    }

    #[test]
    fn draft_settings_normalise_and_stay_out_of_draftless_ids() {
        let d = Recipe::default();
        assert!(!d.canonical_json().unwrap().contains("spec"));
        assert_eq!(q("draft-tokens=7"), d, "K without a draft resets");
        let r = q("draft=student&draft-tokens=6");
        assert_eq!(r.to_query(), "draft=student&draft-tokens=6");
        assert_eq!(q(&r.canonical_json().unwrap()), r);
        assert_ne!(r.id().unwrap(), q("draft=student").id().unwrap());
        assert_eq!(q("draft=student").to_query(), "draft=student");
        let err = |s: &str| Recipe::parse(s).unwrap_err().to_string();
        assert!(err("draft=student&kernel=library").contains("library"));
        assert!(err("draft=student&draft-tokens=9").contains("1..=8"));
        assert!(err("draft=student&draft-tokens=2.5").contains("whole number"));
        assert!(err("draft=teacher").contains("student"));
    }

    #[test]
    fn lenient_query_keeps_defaults_and_says_why() {
        let (r, problems) =
            Recipe::from_query_normalized("?precision=%3Cscript%3E&prune=0.5&prompt=hi&tokens=x");
        assert_eq!(r, q("prune=0.5"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("<script>"), "{problems:?}");
        let (r, problems) =
            Recipe::from_query_normalized("precision=int4&prune=0.9&sparse-format=sell");
        assert_eq!(r, q(""));
        assert!(problems[0].contains("sell"), "{problems:?}");
    }

    #[test]
    fn fields_cover_every_key_with_the_default() {
        let f = fields();
        assert_eq!(f.iter().map(|f| f.key).collect::<Vec<_>>(), KEYS);
        let p = f.iter().find(|f| f.key == "precision").unwrap();
        assert_eq!(p.default, "f32");
        match &p.kind {
            FieldKind::Choice { choices } => assert_eq!(choices, &Precision::NAMES),
            k => panic!("{k:?}"),
        }
    }
}
