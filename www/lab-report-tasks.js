// The lab report's worker tasks (worker.js adds them to its TASKS): sealing a draft the
// course page made and checking a report, both in Rust (src/lab_report.rs) so that the
// page and `tinyopt verify` give one verdict.

/** `env`: {pg() -> the Playground}. Returns the tasks `{labReportSeal, labReportCheck}`. */
export function createLabReportTasks(env) {
  return {
    /** `{draft}` (JSON text) → the sealed report as JSON text; the model hash is the loaded file's. */
    async labReportSeal({ draft }) {
      return env.pg().sealLabReport(String(draft));
    },

    /** `{text}` → `{report, verdict}`, figures recomputed on the loaded model. */
    async labReportCheck({ text }) {
      return env.pg().checkLabReport(String(text));
    },
  };
}
