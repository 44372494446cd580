//! `dbsage report`: the page model (what the CLI gathers from the other crates), the chart
//! figures read from the statistics views, and the rendering to one self-contained HTML page
//! (inline CSS and SVG, no network), every text HTML-escaped.

pub mod charts;
pub mod escape;
pub mod html;
pub mod model;
mod style;
pub mod svg;

pub use model::{
    Backup, Bar, BarChart, CoverageCell, CoverageMatrix, FindingRow, Report, Section, TimelineEntry,
};
