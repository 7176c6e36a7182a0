//! The recipe options (`--precision`, `--prune`, … and `--recipe`), generated from the
//! one definition in `tinyopt::recipe::fields()`, and turning a recipe into a model
//! with its quality measured against the loaded one.

use crate::values;
use clap::builder::{PossibleValuesParser, ValueParser};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use std::marker::PhantomData;
use tinyopt::model::Gpt;
use tinyopt::prune::PruneStats;
use tinyopt::quality::{self, Agreement};
use tinyopt::recipe::{self, Field, FieldKind, Recipe};

/// Flags the core would reconcile (one silently winning) that a command line should
/// not accept together.
const EXCLUSIVE: [(&str, &str); 1] = [("keep-f32-ends", "ends-precision")];

/// Which recipe fields a command takes.
pub trait Keys {
    fn takes(key: &str) -> bool;
    /// Whether `--recipe TEXT` (the whole recipe at once) is offered.
    const WHOLE: bool;
    /// Whether the recipe is normalised (every rule checked) when parsed; otherwise
    /// only each value is checked and the command normalises what it builds.
    const NORMALIZED: bool = true;
    /// The heading of these options in `--help`.
    const HEADING: &'static str = "Recipe";
}

/// Every field, and `--recipe`.
pub struct Every;
impl Keys for Every {
    fn takes(_: &str) -> bool {
        true
    }
    const WHOLE: bool = true;
}

/// Every field, and `--recipe`, as settings to apply to several precisions
/// (`quant-report`): `--clip search` holds for every row, not only a quantized
/// `--precision`.
pub struct Settings;
impl Keys for Settings {
    fn takes(_: &str) -> bool {
        true
    }
    const WHOLE: bool = true;
    const NORMALIZED: bool = false;
}

/// The pruning that can be fine-tuned in place (`finetune`): no heads, no storage.
pub struct Pruning;
impl Keys for Pruning {
    fn takes(key: &str) -> bool {
        matches!(key, "prune" | "prune-kind" | "prune-scope")
    }
    const WHOLE: bool = false;
    const HEADING: &'static str = "Pruning";
}

/// Speculative decoding alone (`generate`): `--draft student --draft-tokens K`.
pub struct Drafting;
impl Keys for Drafting {
    fn takes(key: &str) -> bool {
        matches!(key, "draft" | "draft-tokens")
    }
    const WHOLE: bool = false;
    const HEADING: &'static str = "Speculative decoding";
}

/// The KV cache's storage alone (`generate`: the weights run as loaded).
pub struct KvCacheKeys;
impl Keys for KvCacheKeys {
    fn takes(key: &str) -> bool {
        key == "kv-precision"
    }
    const WHOLE: bool = false;
    const HEADING: &'static str = "KV cache";
}

/// The recipe a command line asked for (normalised if `K::NORMALIZED`).
pub struct RecipeArgs<K: Keys = Every> {
    pub recipe: Recipe,
    keys: PhantomData<K>,
}

fn taken<K: Keys>() -> Vec<Field> {
    recipe::fields()
        .into_iter()
        .filter(|f| K::takes(f.key))
        .collect()
}

/// "weight precision" → "Weight precision", as clap's own help lines read.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn option(f: &Field, heading: &'static str) -> Arg {
    let arg = Arg::new(f.key)
        .long(f.key)
        .help(capitalized(f.help))
        .help_heading(heading);
    let arg = match &f.kind {
        FieldKind::Flag => return arg.action(ArgAction::SetTrue),
        FieldKind::Choice { choices } => arg
            .value_name(f.key.to_uppercase())
            .value_parser(PossibleValuesParser::new(choices.clone())),
        &FieldKind::Number { min, max } => arg
            .value_name(f.key.to_uppercase())
            .allow_negative_numbers(true)
            .value_parser(ValueParser::new(move |s: &str| {
                values::number_in(s, min, max)
            })),
    };
    // An empty default means "unset" (the ends follow the body): nothing to show.
    if f.default.is_empty() {
        arg
    } else {
        arg.default_value(f.default.clone())
    }
}

impl<K: Keys> clap::Args for RecipeArgs<K> {
    fn augment_args(mut cmd: Command) -> Command {
        let fields = taken::<K>();
        if K::WHOLE {
            cmd = cmd.arg(
                Arg::new("recipe")
                    .long("recipe")
                    .value_name("TEXT")
                    .help(
                        "The whole recipe: its canonical JSON (as reports print it), \
                         or a page URL or query (?precision=int4&prune=0.5)",
                    )
                    .help_heading(K::HEADING)
                    .conflicts_with_all(fields.iter().map(|f| f.key)),
            );
        }
        for f in &fields {
            let mut arg = option(f, K::HEADING);
            for (a, b) in EXCLUSIVE {
                if f.key == a && K::takes(b) {
                    arg = arg.conflicts_with(b);
                }
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<K: Keys> FromArgMatches for RecipeArgs<K> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let bad = |e: tinyopt::Error| clap::Error::raw(ErrorKind::ValueValidation, e);
        let text = if K::WHOLE {
            m.get_one::<String>("recipe")
        } else {
            None
        };
        let recipe = match text {
            Some(text) => Recipe::parse(text).map_err(bad)?,
            None => {
                let mut r = Recipe::default();
                for f in taken::<K>() {
                    if m.value_source(f.key) != Some(ValueSource::CommandLine) {
                        continue;
                    }
                    let v = match f.kind {
                        FieldKind::Flag if m.get_flag(f.key) => "1",
                        FieldKind::Flag => continue,
                        _ => m
                            .get_one::<String>(f.key)
                            .expect("a given option has a value"),
                    };
                    r.set(f.key, v).map_err(bad)?;
                }
                if K::NORMALIZED {
                    r.normalized().map_err(bad)?
                } else {
                    r
                }
            }
        };
        Ok(RecipeArgs {
            recipe,
            keys: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// A recipe's model as `prepare` built it: its agreement with the base, the pruning's
/// outcome and how long the build took (calibration included).
pub struct Prepared {
    pub model: Gpt,
    pub agree: Agreement,
    pub stats: PruneStats,
    pub construct_ms: f64,
}

/// Builds the recipe's model (calibrating if it asks for static activation scales)
/// and measures its agreement with `base` on the fixed evaluation set.
pub fn prepare(base: &Gpt, r: &Recipe) -> Result<(Gpt, Agreement, PruneStats), String> {
    prepare_timed(base, r).map(|p| (p.model, p.agree, p.stats))
}

/// `prepare`, also timing the build.
pub fn prepare_timed(base: &Gpt, r: &Recipe) -> Result<Prepared, String> {
    let e = |e: tinyopt::Error| e.to_string();
    let t0 = tinyopt::clock::now_ms();
    let (m, stats) = build(base, r)?;
    let construct_ms = tinyopt::clock::now_ms() - t0;
    let seqs = if r.is_identity() {
        Vec::new()
    } else {
        quality::fixed_eval_set(base).map_err(e)?
    };
    let agree = quality::recipe_agreement(base, &m, r, &seqs).map_err(e)?;
    Ok(Prepared {
        model: m,
        agree,
        stats,
        construct_ms,
    })
}

/// The recipe's model alone (calibrating if it asks for static activation scales).
pub fn build(base: &Gpt, r: &Recipe) -> Result<(Gpt, PruneStats), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let calib = quality::calibration_for(base, &r.quant).map_err(e)?;
    recipe::build(base, r, calib.as_ref()).map_err(e)
}
