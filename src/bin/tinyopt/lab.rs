//! Lab reports from the course: `tinyopt verify` checks them next to submission
//! records (`check`), `tinyopt class-report` turns a folder of them into one table.

use std::path::{Path, PathBuf};
use tinyopt::benchmark::verify::{Check, ModelFile, Verdict};
use tinyopt::lab_report::{self, LabReport};

/// Whether `bytes` are meant as a lab report (their `schema` names one), so `verify`
/// reads them as such (an oversized report then gets the report's size error); anything
/// else is read as a submission record.
pub fn is_lab_report(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        schema: Option<String>,
    }
    bytes.len() <= tinyopt::benchmark::record::MAX_RECORD_BYTES
        && serde_json::from_slice::<Peek>(bytes)
            .ok()
            .and_then(|p| p.schema)
            .is_some_and(|s| s.starts_with("tinyopt-lab-report/"))
}

/// A verdict for a file that could not be read as a report.
pub fn invalid(why: String) -> Verdict {
    Verdict {
        record_sha256: String::new(),
        handle: String::new(),
        status: "invalid",
        passed: false,
        checks: vec![Check {
            name: "parse",
            ok: false,
            detail: why,
        }],
    }
}

/// Parses and verifies one report's bytes.
pub fn check(bytes: &[u8], models: &[ModelFile]) -> (Option<LabReport>, Verdict) {
    match LabReport::parse(bytes) {
        Err(e) => (None, invalid(e.to_string())),
        Ok(r) => {
            let v = lab_report::verify(&r, models);
            (Some(r), v)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Csv,
}

#[derive(clap::Args)]
pub struct ClassArgs {
    /// Folder of lab reports (*.json), one per student or lesson
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Table format: markdown or CSV
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Write the table here instead of printing it
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Folder of model files the reports' figures are recomputed on (found by sha256)
    #[arg(long, value_name = "DIR", default_value = "models")]
    models: PathBuf,
}

/// One report's row: every cell as text, in `COLUMNS` order.
struct Row {
    cells: [String; 9],
    passed: bool,
}

const COLUMNS: [&str; 9] = [
    "file",
    "student",
    "course",
    "lessons",
    "steps",
    "predicted",
    "checkpoints",
    "verdict",
    "reason",
];

/// What the two count columns hold, said above the table. How close a prediction came
/// is the student's own lesson, not a grade: a report's steps predict quantities in
/// different units, and its figures need not include the predicted one, so no error is
/// averaged here (each step's prediction and figures are in the report).
const ERROR_NOTE: &str = "predicted: steps with a committed prediction, of all steps; \
checkpoints: checkpoint answers that were right, of those answered.";

fn row(file: String, rep: Option<&LabReport>, v: &Verdict) -> Row {
    let reason = v
        .failures()
        .first()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .unwrap_or_default();
    let verdict = if v.passed { "PASS" } else { "FAIL" }.to_string();
    let Some(r) = rep else {
        let blank = String::new;
        return Row {
            cells: [file, blank(), blank(), blank(), blank(), blank(), blank(), verdict, reason],
            passed: false,
        };
    };
    let predicted = r.steps.iter().filter(|s| s.prediction.is_some()).count();
    let predicted = format!("{predicted}/{}", r.steps.len());
    let checkpoints: Vec<bool> = r
        .steps
        .iter()
        .filter_map(|s| s.checkpoint.as_ref().map(|c| c.correct))
        .collect();
    Row {
        cells: [
            file,
            r.student.clone(),
            r.course.clone(),
            r.lessons.join(" "),
            r.steps.len().to_string(),
            predicted,
            format!(
                "{}/{}",
                checkpoints.iter().filter(|&&c| c).count(),
                checkpoints.len()
            ),
            verdict,
            reason,
        ],
        passed: v.passed,
    }
}

/// Markdown cell text: shown as typed, never as markup (punctuation that could start
/// markup or HTML is backslash-escaped; line breaks become spaces).
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CSV field (RFC 4180 quoting), with a leading `'` where a spreadsheet would
/// otherwise read the text as a formula.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s != "-" {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn table(rows: &[Row], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Md => {
            let passed = rows.iter().filter(|r| r.passed).count();
            out += &format!(
                "{} lab reports, {passed} verified, {} failed.\n\n{}\n\n",
                rows.len(),
                rows.len() - passed,
                md_cell(ERROR_NOTE)
            );
            out += &format!("| {} |\n", COLUMNS.join(" | "));
            out += &format!("|{}\n", "---|".repeat(COLUMNS.len()));
            for r in rows {
                let cells: Vec<String> = r.cells.iter().map(|c| md_cell(c)).collect();
                out += &format!("| {} |\n", cells.join(" | "));
            }
        }
        Format::Csv => {
            out += &COLUMNS.join(",");
            out.push('\n');
            for r in rows {
                let cells: Vec<String> = r.cells.iter().map(|c| csv_cell(c)).collect();
                out += &cells.join(",");
                out.push('\n');
            }
        }
    }
    out
}

/// The `*.json` files of `dir`, sorted by name.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

pub fn class_report(a: ClassArgs) -> Result<(), String> {
    let paths = json_files(&a.dir)?;
    if paths.is_empty() {
        return Err(format!(
            "{} holds no lab reports (*.json files): put the reports students downloaded there",
            a.dir.display()
        ));
    }
    let models = crate::suite::model_files(&a.models);
    let rows: Vec<Row> = paths
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match std::fs::read(p) {
                Err(e) => row(name, None, &invalid(format!("cannot read: {e}"))),
                Ok(bytes) => {
                    let (rep, v) = check(&bytes, &models);
                    row(name, rep.as_ref(), &v)
                }
            }
        })
        .collect();
    let text = table(&rows, a.format);
    match &a.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let passed = rows.iter().filter(|r| r.passed).count();
            println!(
                "{}: {} reports, {passed} verified, {} failed",
                path.display(),
                rows.len(),
                rows.len() - passed
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_text() {
        assert_eq!(md_cell("a|b\nc <b>x</b>"), "a\\|b c \\<b\\>x\\</b\\>");
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("-"), "-");
    }
}
