//! Rendering: human output (colour on a terminal only, NO_COLOR honoured), JSON for scripts,
//! and errors with file:line:column, the SQL excerpt and a hint.
//!
//! Everything printed here goes through `redact`: no password reaches stdout or stderr, whatever
//! path a URL or a server message took to get here.

use std::io::{IsTerminal, Write};

use dbsage_core::redact::{redact, redact_json};
use dbsage_core::Error;
use serde_json::json;

use crate::{ColorChoice, Format, GlobalArgs};

/// Writes to stdout, ignoring a closed pipe (`dbsage migrate | head -1`) or any other write
/// failure: losing the reader must never stop database work midway, nor panic like `println!`.
pub fn write_stdout(args: std::fmt::Arguments) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Writes to stderr, ignoring a closed pipe like [`write_stdout`].
pub fn write_stderr(args: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `print!` that never panics on a closed pipe (see [`write_stdout`]).
macro_rules! out_text {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}

/// `println!` that never panics on a closed pipe (see [`write_stdout`]).
macro_rules! out_line {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics on a closed pipe.
macro_rules! err_text {
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics on a closed pipe.
macro_rules! err_line {
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

pub struct Out {
    pub format: Format,
    color_out: bool,
    color_err: bool,
}

#[derive(Clone, Copy)]
pub enum Style {
    Good,
    Bad,
    Warn,
    Bold,
    Dim,
}

impl Out {
    pub fn new(global: &GlobalArgs) -> Out {
        let wanted = |is_tty: bool| match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_tty
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Out {
            format: global.format,
            color_out: wanted(std::io::stdout().is_terminal()),
            color_err: wanted(std::io::stderr().is_terminal()),
        }
    }

    pub fn color_err(&self) -> bool {
        self.color_err
    }

    pub fn color_out(&self) -> bool {
        self.color_out
    }

    pub fn json_mode(&self) -> bool {
        self.format == Format::Json
    }

    fn paint_with(enabled: bool, text: &str, style: Style) -> String {
        if !enabled {
            return text.to_string();
        }
        let code = match style {
            Style::Good => "32",
            Style::Bad => "31;1",
            Style::Warn => "33",
            Style::Bold => "1",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Styles text for stdout.
    pub fn paint(&self, text: &str, style: Style) -> String {
        Self::paint_with(self.color_out, text, style)
    }

    /// Styles text for stderr.
    pub fn paint_err(&self, text: &str, style: Style) -> String {
        Self::paint_with(self.color_err, text, style)
    }

    /// A result line on stdout (human mode only).
    pub fn line(&self, text: &str) {
        if !self.json_mode() {
            out_line!("{}", redact(text));
        }
    }

    /// A progress line on stderr, like cargo's `Compiling …` (human mode only).
    pub fn status(&self, verb: &str, text: &str) {
        if !self.json_mode() {
            err_line!("{:>12} {}", self.paint_err(verb, Style::Good), redact(text));
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.json_mode() {
            err_line!(
                "{}: {}",
                self.paint_err("warning", Style::Warn),
                redact(text)
            );
        }
    }

    pub fn json(&self, value: &serde_json::Value) {
        let mut value = value.clone();
        redact_json(&mut value);
        Self::json_verbatim(&value);
    }

    /// JSON as is, secrets included: only for output whose purpose is a secret (`dev url`).
    pub fn json_verbatim(value: &serde_json::Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, value);
        let _ = writeln!(stdout);
    }

    /// A plain error message with an optional hint.
    pub fn error_text(&self, message: &str, hint: Option<&str>) {
        if self.json_mode() {
            self.json(&json!({ "error": { "kind": "usage", "message": message, "hint": hint } }));
            return;
        }
        err_line!(
            "{}: {}",
            self.paint_err("error", Style::Bad),
            redact(message)
        );
        self.hint_lines(hint);
    }

    pub fn error(&self, e: &Error) {
        if self.json_mode() {
            self.json(&json!({ "error": error_json(e) }));
            return;
        }
        match e {
            Error::Migration(m) => {
                let theme = if self.color_err {
                    miette::GraphicalTheme::unicode()
                } else {
                    miette::GraphicalTheme::unicode_nocolor()
                };
                let handler =
                    miette::GraphicalReportHandler::new_themed(theme).with_context_lines(2);
                let mut rendered = String::new();
                let _ = handler.render_report(&mut rendered, &from_cwd(m).diagnostic());
                err_line!(
                    "{}: {}",
                    self.paint_err("error", Style::Bad),
                    redact(rendered.trim_start_matches(['×', ' ']))
                );
            }
            other => {
                err_line!(
                    "{}: {}",
                    self.paint_err("error", Style::Bad),
                    redact(&other.to_string())
                );
                let server = [
                    ("detail", other.detail()),
                    ("server hint", other.server_hint()),
                ];
                for (label, text) in server {
                    if let Some(text) = text {
                        err_line!("  {}: {}", self.paint_err(label, Style::Bold), redact(text));
                    }
                }
                self.hint_lines(other.hint());
            }
        }
    }

    fn hint_lines(&self, hint: Option<&str>) {
        if let Some(h) = hint {
            let h = redact(h);
            for (i, line) in h.lines().enumerate() {
                let label = if i == 0 { "hint" } else { "    " };
                err_line!("  {}: {line}", self.paint_err(label, Style::Bold));
            }
        }
    }

    /// Asks a person (the plan, then the question); `None` when stdin is not a terminal.
    pub fn ask(&self, prompt: &str) -> Option<String> {
        crate::prompt::ask(prompt)
    }
}

/// The error with its file path relative to the current directory, as every path dbsage prints.
fn from_cwd(m: &dbsage_core::error::MigrationError) -> dbsage_core::error::MigrationError {
    let mut m = m.clone();
    m.file = crate::commands::paths::from_cwd(&m.file);
    m
}

/// The stable JSON shape of an error.
pub fn error_json(e: &Error) -> serde_json::Value {
    match e {
        Error::Migration(m) => json!({
            "kind": e.kind(),
            "file": crate::commands::display_path(&m.file),
            "line": m.line,
            "column": m.column,
            "sqlstate": m.sqlstate,
            "message": m.message,
            "detail": m.detail,
            "server_hint": m.server_hint,
            "hint": m.dbsage_hint,
        }),
        other => json!({
            "kind": other.kind(),
            "message": other.to_string(),
            "sqlstate": other.sqlstate(),
            "detail": other.detail(),
            "server_hint": other.server_hint(),
            "hint": other.hint(),
        }),
    }
}
