//! One error type for the whole core, so both faces can show a readable message.

use std::fmt;

/// What went wrong, in words a student can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A weight file that is truncated, corrupted or of the wrong shape.
    Format(String),
    /// Bad user input: unknown characters, bad options.
    Input(String),
    /// The sequence would not fit in the model's context window.
    ContextFull { ctx: usize, needed: usize },
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(m) => write!(f, "invalid weight file: {m}"),
            Error::Input(m) => write!(f, "{m}"),
            Error::ContextFull { ctx, needed } => write!(
                f,
                "context full: the model sees at most {ctx} tokens, this needs {needed}"
            ),
        }
    }
}

impl std::error::Error for Error {}

pub(crate) fn format_err(msg: impl Into<String>) -> Error {
    Error::Format(msg.into())
}

pub(crate) fn input_err(msg: impl Into<String>) -> Error {
    Error::Input(msg.into())
}
