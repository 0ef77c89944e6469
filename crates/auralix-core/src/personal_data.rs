//! The register of personal data: every column that holds data about a person.
//!
//! This is the one place to look when adding encryption at rest, answering a
//! data-subject request or writing a purge. Each store of personal data says whose data
//! it is and how it is erased; a test in the store crate checks that every listed column
//! exists in both database schemas.

/// Whose data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A user of the dashboard (Auralix is the controller).
    AccountUser,
    /// A visitor of a client's site (Auralix is the processor).
    Visitor,
}

/// How a row holding personal data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The row is deleted with its owner (cascade).
    DeleteRow,
    /// The column is overwritten with NULL / a tombstone.
    Blank,
}

#[derive(Debug, Clone, Copy)]
pub struct PersonalColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub subject: Subject,
    pub erasure: Erasure,
}

const fn col(
    table: &'static str,
    column: &'static str,
    subject: Subject,
    erasure: Erasure,
) -> PersonalColumn {
    PersonalColumn {
        table,
        column,
        subject,
        erasure,
    }
}

/// Every personal-data column in the schema.
pub const PERSONAL_DATA_COLUMNS: &[PersonalColumn] = &[
    col("users", "email", Subject::AccountUser, Erasure::DeleteRow),
    col("users", "name", Subject::AccountUser, Erasure::DeleteRow),
    col("sessions", "ip", Subject::AccountUser, Erasure::DeleteRow),
    col(
        "sessions",
        "user_agent",
        Subject::AccountUser,
        Erasure::DeleteRow,
    ),
];
