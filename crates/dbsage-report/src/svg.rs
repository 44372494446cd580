//! Small horizontal bar charts as inline SVG (no script, no external font).

use crate::escape::html;
use crate::model::BarChart;

const WIDTH: f64 = 460.0;
const LABEL: f64 = 170.0;
const ROW: f64 = 22.0;
/// Labels longer than this may not fit the label column at their natural width.
const LONG_LABEL: usize = 20;

/// The chart, or `None` when it has no bars.
pub fn bar_chart(chart: &BarChart) -> Option<String> {
    if chart.bars.is_empty() {
        return None;
    }
    let max = chart.bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = ROW * chart.bars.len() as f64 + 4.0;
    let mut svg = format!(
        r#"<svg class="chart" data-chart="{}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}">"#,
        html(&chart.id),
        html(&chart.title)
    );
    for (i, bar) in chart.bars.iter().enumerate() {
        let y = i as f64 * ROW + 2.0;
        let room = WIDTH - LABEL - 80.0;
        let width = if max > 0.0 {
            bar.value / max * room
        } else {
            0.0
        };
        let label: String = bar.label.chars().take(26).collect();
        // A long label drawn at its natural width starts left of the chart and is cut off
        // (on screen and on paper): squeeze it into the label column instead.
        let fit = if label.chars().count() > LONG_LABEL {
            format!(
                r#" textLength="{:.0}" lengthAdjust="spacingAndGlyphs""#,
                LABEL - 10.0
            )
        } else {
            String::new()
        };
        svg.push_str(&format!(
            r#"<g><title>{title}: {value} {unit}</title><text x="{lx}" y="{ty}" text-anchor="end"{fit}>{label}</text><rect x="{LABEL}" y="{y}" width="{width:.1}" height="{h}" rx="2"/><text x="{vx:.1}" y="{ty}">{value} {unit}</text></g>"#,
            title = html(&bar.label),
            value = format_value(bar.value),
            unit = html(&chart.unit),
            lx = LABEL - 6.0,
            ty = y + 14.0,
            label = html(&label),
            h = ROW - 6.0,
            vx = LABEL + width + 4.0,
        ));
    }
    svg.push_str("</svg>");
    Some(svg)
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}
