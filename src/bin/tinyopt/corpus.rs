//! Reading a training or evaluation corpus from disk.

/// The file as UTF-8 text, with errors that say what is wrong.
pub fn read(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read corpus {path}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "corpus {path} is not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
