//! GPTQ on the shipped model: the same packed storage as rounding to nearest, and
//! strictly closer to the f32 model on the fixed evaluation set.

use tinyopt::quality;
use tinyopt::recipe::{self, Recipe};

#[test]
fn gptq_beats_rounding_on_the_shipped_model() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/shakespeare-char.safetensors"
    );
    let base = tinyopt::model::io::load(&std::fs::read(path).unwrap()).unwrap();
    let seqs = quality::fixed_eval_set(&base).unwrap();
    let measure = |query: &str| {
        let r = Recipe::parse(query).unwrap();
        let calib = quality::calibration_for(&base, &r.quant).unwrap();
        let (m, _) = recipe::build(&base, &r, calib.as_ref()).unwrap();
        let a = quality::compare(&base, &m, &seqs).unwrap();
        (m.weight_bytes(), m.storage_census(), a)
    };
    let (rtn_bytes, rtn_census, rtn) = measure("precision=int4");
    let (gq_bytes, gq_census, gq) = measure("precision=int4&quant-method=gptq");
    assert_eq!(gq_bytes, rtn_bytes);
    assert_eq!(gq_census, rtn_census);
    assert!(
        gq.kld < 0.8 * rtn.kld,
        "KL gptq {} vs rtn {}",
        gq.kld,
        rtn.kld
    );
    assert!(gq.top1_agreement > rtn.top1_agreement, "{gq:?} vs {rtn:?}");
}

/// The search steps one measured candidate at a time, in the documented order, and the
/// winner so far is the cheapest passing candidate.
#[test]
fn search_steps_in_order_and_keeps_the_cheapest_passing() {
    use tinyopt::search::{Objective, Search};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/shakespeare-char.safetensors"
    );
    let base = tinyopt::model::io::load(&std::fs::read(path).unwrap()).unwrap();
    let mut s = Search::new(base, 0.99, Objective::Bytes).unwrap();
    assert_eq!(s.phase_name(), "start");
    let start = s.step().unwrap().unwrap();
    assert_eq!(start.step, "start");
    assert!(
        start.quality_ratio < 0.99,
        "all-int4 fails: {}",
        start.quality_ratio
    );
    let embed = s.step().unwrap().unwrap();
    assert_eq!(embed.step, "sensitivity embed");
    assert!(embed.weight_bytes > start.weight_bytes);
    assert!(s.passes(&embed), "one group at int4 passes: {embed:?}");
    assert_eq!(s.best().unwrap().recipe_id, embed.recipe_id);
    // A recipe measured before comes back as it was, not measured again.
    let again = s
        .measure(&Recipe::parse(&start.query).unwrap(), "again")
        .unwrap();
    assert_eq!(again.step, "start");
    assert_eq!(s.tried.len(), 2);
    assert!(!s.done());
}
