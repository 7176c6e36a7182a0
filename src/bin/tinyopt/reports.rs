//! `tinyopt export`, `quant-report` and `prune-report`: a recipe's model written out,
//! and size/quality tables across precisions and sparsities.

use crate::load::ModelArg;
use crate::recipe::{self, RecipeArgs, Settings};
use crate::values;
use tinyopt::quant::Precision;
use tinyopt::recipe::Recipe;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// File to write (safetensors)
    #[arg(long, value_name = "PATH")]
    out: String,
    #[command(flatten)]
    recipe: RecipeArgs,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(clap::Args)]
pub struct QuantArgs {
    /// Print one JSON line per row
    #[arg(long)]
    json: bool,
    /// The quantization settings of every row; sensitivity of --precision (if not f32)
    #[command(flatten)]
    recipe: RecipeArgs<Settings>,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Print one JSON line per row
    #[arg(long)]
    json: bool,
    /// Skip the dense-vs-sparse kernel sweep (quality rows only)
    #[arg(long)]
    no_sweep: bool,
    /// Timed samples per sweep point
    #[arg(long, value_name = "R", default_value_t = 15, value_parser = values::count)]
    runs: usize,
    #[command(flatten)]
    model: ModelArg,
}

pub fn export(a: ExportArgs) -> Result<(), String> {
    let out = &a.out;
    let base = a.model.load()?;
    let rc = a.recipe.recipe;
    let (m, agree, _) = recipe::prepare(&base, &rc)?;
    let bytes = tinyopt::model::io::save(&m).map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    eprintln!(
        "wrote {out}: {} ({} weight bytes, {:.1}% of f32; kld {:.5} nats/token, top-1 agreement {:.2}%)",
        rc.quant.precision.name(),
        m.weight_bytes(),
        100.0 * m.weight_bytes() as f64 / base.weight_bytes() as f64,
        agree.kld,
        100.0 * agree.top1_agreement
    );
    Ok(())
}

pub fn quant_report(a: QuantArgs) -> Result<(), String> {
    let base = a.model.load()?;
    let given = a.recipe.recipe.quant;
    let e = |e: tinyopt::Error| e.to_string();
    // Every precision with the given settings (f32 is the loaded model itself).
    let with = |precision: Precision| -> Result<Recipe, String> {
        if precision == Precision::F32 {
            return Ok(Recipe::default());
        }
        let quant = tinyopt::quant::QuantConfig { precision, ..given };
        let r = Recipe {
            quant,
            ..Default::default()
        };
        r.normalized().map_err(|e| format!("{precision}: {e}"))
    };
    for &p in Precision::ALL {
        let rc = with(p)?;
        let (m, agree, _) = recipe::prepare(&base, &rc)?;
        let row = serde_json::json!({
            "kind": "precision",
            "precision": p.name(),
            "weight_bytes": m.weight_bytes(),
            "bytes_vs_f32": m.weight_bytes() as f64 / base.weight_bytes() as f64,
            "kld": agree.kld,
            "top1_agreement": agree.top1_agreement,
        });
        print_row(a.json, &row);
    }
    if given.precision != Precision::F32 {
        let chosen = with(given.precision)?.quant;
        let seqs = tinyopt::quality::fixed_eval_set(&base).map_err(e)?;
        let calib = tinyopt::quality::calibration_for(&base, &chosen).map_err(e)?;
        for s in tinyopt::quality::sensitivity(&base, &chosen, calib.as_ref(), &seqs).map_err(e)? {
            let row = serde_json::json!({
                "kind": "sensitivity",
                "precision": chosen.precision.name(),
                "matrix": s.matrix,
                "kld": s.kld,
                "top1_agreement": s.top1_agreement,
            });
            print_row(a.json, &row);
        }
    }
    Ok(())
}

pub fn prune_report(a: PruneArgs) -> Result<(), String> {
    let base = a.model.load()?;
    let e = |e: tinyopt::Error| e.to_string();
    let seqs = tinyopt::quality::fixed_eval_set(&base).map_err(e)?;
    use tinyopt::prune::{PruneConfig, PruneKind, SparseFormat};
    for kind in [PruneKind::Unstructured, PruneKind::Structured] {
        for ratio in [0.0f32, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95] {
            let pc = PruneConfig {
                kind,
                ratio,
                format: SparseFormat::Dense,
                ..PruneConfig::default()
            };
            let (m, st) = tinyopt::prune::prune_model(&base, &pc).map_err(e)?;
            let q = tinyopt::quality::compare(&base, &m, &seqs).map_err(e)?;
            // Unstructured zeros are stored sparse (CSR, the CLI's default); the
            // other formats' bytes alongside.
            let mut by_format = serde_json::Map::new();
            let mut bytes = m.weight_bytes();
            if kind == PruneKind::Unstructured {
                for &f in SparseFormat::ALL {
                    let mut sparse = m.clone();
                    tinyopt::prune::sparsify_blocks(&mut sparse, f).map_err(e)?;
                    by_format.insert(f.name().into(), sparse.weight_bytes().into());
                    if f == SparseFormat::Csr {
                        bytes = sparse.weight_bytes();
                    }
                }
            }
            let mut row = serde_json::json!({
                "kind": "quality",
                "prune_kind": kind.name(),
                "prune": ratio,
                "sparsity": st.sparsity,
                "kld": q.kld,
                "top1_agreement": q.top1_agreement,
                "weight_bytes": bytes,
                "bytes_vs_f32": bytes as f64 / base.weight_bytes() as f64,
            });
            if !by_format.is_empty() {
                row["weight_bytes_by_format"] = by_format.into();
            }
            print_row(a.json, &row);
        }
    }
    if !a.no_sweep {
        let timer = tinyopt::profile::timer::Timer {
            runs: a.runs,
            ..Default::default()
        };
        let d = base.cfg.d_model;
        for (rows, cols) in [(512, 512), (4 * d, d), (d, 4 * d)] {
            let pts: Vec<_> = tinyopt::sparsity_sweep::SPARSITIES
                .iter()
                .map(|&sp| tinyopt::sparsity_sweep::point(rows, cols, sp, &timer))
                .collect();
            for p in &pts {
                let mut row = serde_json::to_value(p).expect("row serialises");
                row["kind"] = "sweep".into();
                print_row(a.json, &row);
            }
            let cross = |f| tinyopt::sparsity_sweep::crossover(&pts, f);
            let row = serde_json::json!({
                "kind": "crossover", "rows": rows, "cols": cols,
                "csr_crossover_sparsity": cross(SparseFormat::Csr),
                "sell_crossover_sparsity": cross(SparseFormat::Sell),
            });
            print_row(a.json, &row);
        }
    }
    Ok(())
}

fn print_row(json: bool, row: &serde_json::Value) {
    if json {
        println!("{row}");
    } else {
        let cells: Vec<String> = row
            .as_object()
            .expect("rows are objects")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("{}", cells.join("  "));
    }
}
