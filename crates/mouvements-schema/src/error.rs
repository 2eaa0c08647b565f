//! The one parse error of the vocabulary: it names the column, the bad value and what is valid.

/// A text value that is not valid for its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {column} {value:?}: expected {expected}")]
pub struct ParseError {
    /// The column (or value kind) being parsed, e.g. `type_op`.
    pub column: &'static str,
    /// The offending text, cut to a readable length.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

impl ParseError {
    /// Builds an error for `value` in `column`, keeping at most 40 characters of the value.
    pub fn new(column: &'static str, value: &str, expected: impl Into<String>) -> Self {
        Self { column, value: value.chars().take(40).collect(), expected: expected.into() }
    }
}
