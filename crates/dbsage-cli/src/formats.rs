//! `--format` is the report format of every command. Each command lists what it can render; any
//! other value is a usage error naming those, never silently ignored.

use dbsage_core::Error;

use crate::Format;

/// The report formats a command renders.
pub fn supported(command: &str) -> &'static [Format] {
    match command {
        "lint" => &[Format::Human, Format::Json, Format::Github, Format::Sarif],
        "review" => &[Format::Human, Format::Json, Format::Github],
        "health" => &[Format::Human, Format::Json, Format::Prometheus],
        _ => &[Format::Human, Format::Json],
    }
}

/// The data formats `--format` used to name for import and export (now `--data-format`).
pub fn is_deprecated_data_format(command: &str, format: Format) -> bool {
    matches!(command, "import" | "export")
        && matches!(format, Format::Csv | Format::Tsv | Format::Ndjson)
}

/// Ok when `command` renders `format` (or takes it as the deprecated data-format spelling).
pub fn check(command: &str, format: Format) -> Result<(), Error> {
    let supported = supported(command);
    if supported.contains(&format) || is_deprecated_data_format(command, format) {
        return Ok(());
    }
    let names: Vec<&str> = supported.iter().map(|f| name(*f)).collect();
    let hint = if matches!(format, Format::Csv | Format::Tsv | Format::Ndjson) {
        format!(
            "--format is the report format; data formats are for `dbsage import`/`export --data-format {}`",
            name(format)
        )
    } else {
        format!("use --format {}", names.join(" or --format "))
    };
    Err(Error::Config {
        message: format!(
            "`dbsage {command}` has no --format {}: it supports {}",
            name(format),
            names.join(", ")
        ),
        hint,
    })
}

/// The value as typed on the command line.
pub fn name(format: Format) -> &'static str {
    match format {
        Format::Human => "human",
        Format::Json => "json",
        Format::Github => "github",
        Format::Sarif => "sarif",
        Format::Prometheus => "prometheus",
        Format::Csv => "csv",
        Format::Tsv => "tsv",
        Format::Ndjson => "ndjson",
    }
}
