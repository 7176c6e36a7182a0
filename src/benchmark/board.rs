//! The leaderboard: verified records ranked per division and event. Raw times are not
//! ranked (machines differ); the ranked figure is each event's ratio against the f32
//! reference measured in the same run.

use super::record::{Division, Record};
use super::verify::Verdict;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub handle: String,
    pub recipe_id: String,
    pub recipe_query: String,
    pub face: String,
    pub platform: String,
    pub gate: String,
    pub status: String,
    pub latency: f64,
    pub ttft: f64,
    pub throughput: f64,
    pub footprint: f64,
    pub all_round: f64,
    pub kld: f64,
    pub top1_agreement: f64,
    pub record_sha256: String,
    pub file: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Board {
    pub suite: String,
    /// Per division, rows ranked by the all-round score (gate failures last).
    pub closed: Vec<Row>,
    pub open: Vec<Row>,
    pub events: [&'static str; 5],
}

/// Ranks `records` (with their verdicts and file names); failed records are left out.
pub fn build(suite: &str, records: &[(String, Record, Verdict)]) -> Board {
    let mut closed = Vec::new();
    let mut open = Vec::new();
    for (file, r, v) in records {
        if !v.passed || r.suite.version != suite {
            continue;
        }
        let s = &r.scores;
        let row = Row {
            handle: r.handle.clone(),
            recipe_id: r.recipe_id.clone(),
            recipe_query: r.recipe.to_query(),
            face: r.environment.face.clone(),
            platform: r.environment.platform.clone(),
            gate: s.gate.clone(),
            status: v.status.to_string(),
            latency: s.latency.ratio,
            ttft: s.ttft.ratio,
            throughput: s.throughput.ratio,
            footprint: s.footprint.ratio,
            all_round: s.all_round,
            kld: r.quality.kld,
            top1_agreement: r.quality.top1_agreement,
            record_sha256: r.record_sha256.clone(),
            file: file.clone(),
        };
        match r.division {
            Division::Closed => closed.push(row),
            Division::Open => open.push(row),
        }
    }
    let rank = |rows: &mut Vec<Row>| {
        rows.sort_by(|a, b| {
            (a.gate == "fail")
                .cmp(&(b.gate == "fail"))
                .then(b.all_round.total_cmp(&a.all_round))
        })
    };
    rank(&mut closed);
    rank(&mut open);
    Board {
        suite: suite.into(),
        closed,
        open,
        events: ["latency", "ttft", "throughput", "footprint", "all_round"],
    }
}
