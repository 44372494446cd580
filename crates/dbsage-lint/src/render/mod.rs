//! Output formats: human (compiler-like), JSON, GitHub workflow annotations and SARIF 2.1.0.

mod github;
mod human;
mod json;
mod sarif;

pub use github::render_github;
pub use human::render_human;
pub use json::render_json;
pub use sarif::render_sarif;

/// A path as shown to users and CI: forward slashes, so annotations resolve on every platform.
fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
