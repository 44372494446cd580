//! Typed staging: the fast path for clean data from a source that can be read twice.
//!
//! The text staging table ([`crate::load`]) accepts every row, so validation can name every bad
//! value; but then each value is converted to its type inside the merge. `\copy` into a typed
//! table converts while copying instead, which is cheaper when the merge also has to write
//! (measured: 50 % updates). So when the source is a file, the import first COPYs into staging
//! columns of the target's types (without typmod: the merge's assignment and the "kept exactly"
//! guard still see the value as written) and merges straight from there. If COPY refuses a value
//! or the merge refuses a row, the savepoint around this attempt is rolled back and the file is
//! read again into text staging, whose validation finds and reports every reject.

use crate::catalog::Column;
use crate::options::ImportOptions;
use crate::source::input::Replay;

/// The staging column type for `column` on the typed path: its underlying type without typmod
/// (COPY then parses the value once, like a cast from text would).
pub fn staging_type(column: &Column) -> &str {
    if column.full_type == "text" {
        "text"
    } else {
        &column.base_type
    }
}

/// Whether to try the typed path: it needs a merge to try (not a dry run) and a source it can
/// read again if the attempt fails (a file; standard input stays on text staging).
pub fn worth_trying(replay: &Replay, options: &ImportOptions) -> bool {
    !options.dry_run && matches!(replay, Replay::File(_))
}
