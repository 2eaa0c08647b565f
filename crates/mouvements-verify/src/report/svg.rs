//! Small inline SVG charts for the HTML report: bars, lines, a heat map, a scatter, box plots
//! on a log scale and bullet bars against a band. Hand-written rather than a plotting crate:
//! a dozen primitives in a few hundred lines, no dependency, and every figure they draw sits
//! in a `data-value` attribute so that tests (and curious readers) can read it back.

use std::fmt::Write;

use crate::stats::Magnitude;

/// Width of every chart, in SVG units (the page scales it).
const WIDTH: f64 = 900.0;
/// Margins: left (for labels), right, top (for the title), bottom (for the axis).
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;

/// Colours: one per country (FR, ES, IT, DE, BE), per product, and for money in and out.
pub const COUNTRY_COLOURS: [&str; 5] = ["#1f4e99", "#d9822b", "#2a9d5c", "#7b3fa0", "#c23b3b"];
/// See [`COUNTRY_COLOURS`].
pub const PRODUCT_COLOURS: [&str; 4] = ["#3465a4", "#75507b", "#c17d11", "#4e9a06"];
/// Inflows.
pub const IN: &str = "#2a9d5c";
/// Outflows.
pub const OUT: &str = "#c23b3b";
/// Either way.
pub const EITHER: &str = "#7f7f7f";
/// The neutral series colour.
pub const MAIN: &str = "#3465a4";
/// Rings around flagged amounts.
const FLAG: &str = "#d40000";

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A compact number for axes and labels: 1.2 k, 3.4 M, 5.6 bn.
pub fn compact(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e9 {
        (value / 1e9, " bn")
    } else if abs >= 1e6 {
        (value / 1e6, " M")
    } else if abs >= 1e3 {
        (value / 1e3, " k")
    } else {
        (value, "")
    };
    if scaled.abs() >= 100.0 || scaled.fract() == 0.0 {
        format!("{scaled:.0}{suffix}")
    } else {
        format!("{scaled:.1}{suffix}")
    }
}

/// Nice tick values covering `low..=high`, about `count` of them.
fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    let span = (high - low).max(f64::MIN_POSITIVE);
    let raw = span / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let mut value = (low / step).floor() * step;
    let mut out = Vec::new();
    while value <= high + step * 1e-9 {
        if value >= low - step * 1e-9 {
            out.push(value);
        }
        value += step;
    }
    out
}

/// An SVG being drawn: its height, its plot area, and its markup.
struct Svg {
    height: f64,
    out: String,
}

impl Svg {
    fn new(title: &str, height: f64) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}"><title>{t}</title><rect width="{WIDTH}" height="{height}" fill="white"/><text x="{LEFT}" y="20" class="chart-title">{t}</text>"#,
            t = escape(title)
        );
        Self { height, out }
    }

    fn plot_bottom(&self) -> f64 {
        self.height - BOTTOM
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            escape(text)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, colour: &str, width: f64) {
        let _ = write!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{colour}" stroke-width="{width}"/>"#
        );
    }

    /// A rectangle carrying its figure: `label` and `value` in data attributes and a tooltip.
    #[allow(clippy::too_many_arguments)] // a rectangle and what it stands for
    fn bar(&mut self, x: f64, y: f64, w: f64, h: f64, colour: &str, label: &str, value: f64, shown: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}" data-label="{l}" data-value="{value}"><title>{l}: {s}</title></rect>"#,
            w.max(0.0),
            h.max(0.0),
            l = escape(label),
            s = escape(shown)
        );
    }

    /// Axis labels: `x` under the plot, `y` along its left side.
    fn axes(&mut self, x: &str, y: &str) {
        let bottom = self.height - 8.0;
        self.text(LEFT + (WIDTH - LEFT - RIGHT) / 2.0, bottom, "middle", "axis-label", x);
        let middle = TOP + (self.plot_bottom() - TOP) / 2.0;
        let _ = write!(
            self.out,
            r#"<text x="14" y="{middle:.1}" text-anchor="middle" class="axis-label" transform="rotate(-90 14 {middle:.1})">{}</text>"#,
            escape(y)
        );
    }

    /// Horizontal grid lines and labels for a linear value axis.
    fn value_axis(&mut self, low: f64, high: f64, scale: impl Fn(f64) -> f64) {
        for tick in ticks(low, high, 5) {
            let y = scale(tick);
            self.line(LEFT, y, WIDTH - RIGHT, y, "#e5e5e5", 1.0);
            self.text(LEFT - 6.0, y + 4.0, "end", "tick", &compact(tick));
        }
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// A vertical bar chart: one bar per label, coloured per bar.
pub fn bars(title: &str, labels: &[String], values: &[f64], colours: &[&str], x: &str, y: &str) -> String {
    let mut svg = Svg::new(title, 300.0);
    let (low, high) =
        (values.iter().copied().fold(0.0, f64::min), values.iter().copied().fold(0.0, f64::max));
    let high = if high <= low { low + 1.0 } else { high };
    let bottom = svg.plot_bottom();
    let scale = |v: f64| bottom - (v - low) / (high - low) * (bottom - TOP);
    svg.value_axis(low, high, scale);
    let step = (WIDTH - LEFT - RIGHT) / labels.len().max(1) as f64;
    let label_every = labels.len().div_ceil(10).max(1);
    for (i, (label, value)) in labels.iter().zip(values).enumerate() {
        let x0 = LEFT + step * i as f64;
        let (top, base) = (scale(value.max(0.0)), scale(value.min(0.0)));
        svg.bar(
            x0 + step * 0.12,
            top,
            step * 0.76,
            base - top,
            colours[i % colours.len()],
            label,
            *value,
            &compact(*value),
        );
        if i % label_every == 0 {
            svg.text(x0 + step / 2.0, bottom + 14.0, "middle", "tick", label);
        }
    }
    svg.line(LEFT, scale(0.0), WIDTH - RIGHT, scale(0.0), "#444444", 1.0);
    svg.axes(x, y);
    svg.finish()
}

/// A horizontal bar chart: one bar per label, longest first as given.
pub fn hbars(title: &str, labels: &[String], values: &[f64], colours: &[&str], x: &str) -> String {
    let row = 18.0;
    let height = TOP + BOTTOM + row * labels.len() as f64;
    let mut svg = Svg::new(title, height);
    let high = values.iter().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (left, right) = (LEFT + 70.0, WIDTH - RIGHT - 60.0);
    for (i, (label, value)) in labels.iter().zip(values).enumerate() {
        let y = TOP + row * i as f64;
        let w = value.max(0.0) / high * (right - left);
        svg.text(left - 6.0, y + row * 0.7, "end", "tick", label);
        svg.bar(left, y + 2.0, w, row - 4.0, colours[i % colours.len()], label, *value, &compact(*value));
        svg.text(left + w + 4.0, y + row * 0.7, "start", "tick", &compact(*value));
    }
    svg.text(LEFT + (WIDTH - LEFT) / 2.0, height - 8.0, "middle", "axis-label", x);
    svg.finish()
}

/// One series of a line chart.
pub struct Series<'a> {
    /// Its name, in the legend.
    pub name: &'a str,
    /// Its colour.
    pub colour: &'a str,
    /// One value per x label.
    pub values: Vec<f64>,
}

/// A line chart over labelled x positions (days), with a legend.
pub fn lines(title: &str, labels: &[String], series: &[Series<'_>], x: &str, y: &str) -> String {
    let mut svg = Svg::new(title, 320.0);
    let all = series.iter().flat_map(|s| s.values.iter().copied());
    let (low, high) = all.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let high = if high <= low { low + 1.0 } else { high };
    let bottom = svg.plot_bottom();
    let scale = |v: f64| bottom - (v - low) / (high - low) * (bottom - TOP);
    svg.value_axis(low, high, scale);
    let step = (WIDTH - LEFT - RIGHT) / labels.len().saturating_sub(1).max(1) as f64;
    let label_every = (labels.len() / 10).max(1);
    for (i, label) in labels.iter().enumerate().step_by(label_every) {
        svg.text(LEFT + step * i as f64, bottom + 14.0, "middle", "tick", label);
    }
    for (k, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", LEFT + step * i as f64, scale(*v)))
            .collect();
        let total: f64 = s.values.iter().sum();
        let _ = write!(
            svg.out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.8" data-label="{}" data-value="{total}"/>"#,
            points.join(" "),
            s.colour,
            escape(s.name)
        );
        let lx = LEFT + 10.0 + 220.0 * k as f64;
        svg.line(lx, TOP + 6.0, lx + 18.0, TOP + 6.0, s.colour, 3.0);
        svg.text(lx + 22.0, TOP + 10.0, "start", "tick", s.name);
    }
    svg.axes(x, y);
    svg.finish()
}

/// A heat map: rows × columns of values, darker for more.
pub fn heatmap(title: &str, rows: &[String], columns: &[String], values: &[Vec<f64>], unit: &str) -> String {
    let cell_h = 18.0;
    let height = TOP + 24.0 + cell_h * rows.len() as f64 + 20.0;
    let mut svg = Svg::new(title, height);
    let left = LEFT + 70.0;
    let cell_w = (WIDTH - RIGHT - left) / columns.len().max(1) as f64;
    let high = values.iter().flatten().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    for (j, column) in columns.iter().enumerate() {
        svg.text(left + cell_w * (j as f64 + 0.5), TOP + 14.0, "middle", "tick", column);
    }
    for (i, (row, line)) in rows.iter().zip(values).enumerate() {
        let y = TOP + 24.0 + cell_h * i as f64;
        svg.text(left - 6.0, y + cell_h * 0.7, "end", "tick", row);
        for (j, value) in line.iter().enumerate() {
            let shade = (value / high).clamp(0.0, 1.0);
            let (r, g, b) = (255.0 - shade * 203.0, 255.0 - shade * 154.0, 255.0 - shade * 91.0);
            let colour = format!("#{:02x}{:02x}{:02x}", r as u8, g as u8, b as u8);
            let label = format!("{row} × {}", columns[j]);
            svg.bar(
                left + cell_w * j as f64,
                y,
                cell_w - 1.0,
                cell_h - 1.0,
                &colour,
                &label,
                *value,
                &format!("{} {unit}", compact(*value)),
            );
            if *value > 0.0 {
                let ink = if shade > 0.55 { "tick-light" } else { "tick" };
                svg.text(left + cell_w * (j as f64 + 0.5), y + cell_h * 0.7, "middle", ink, &compact(*value));
            }
        }
    }
    svg.finish()
}

/// One point of a scatter.
pub struct Point<'a> {
    /// What it is.
    pub label: String,
    /// Its x and y.
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Its colour.
    pub colour: &'a str,
}

/// A scatter plot with a legend of colours.
pub fn scatter(title: &str, points: &[Point<'_>], legend: &[(&str, &str)], x: &str, y: &str) -> String {
    let mut svg = Svg::new(title, 360.0);
    let fold = |f: fn(&Point<'_>) -> f64| {
        points.iter().map(f).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
    };
    let (x_low, x_high) = fold(|p| p.x);
    let (y_low, y_high) = fold(|p| p.y);
    let (x_low, x_high) = (x_low.min(0.0), if x_high > x_low { x_high } else { x_low + 1.0 });
    let (y_low, y_high) = (y_low.min(0.0), if y_high > y_low { y_high.max(0.0) } else { y_low + 1.0 });
    let bottom = svg.plot_bottom();
    let sx = |v: f64| LEFT + (v - x_low) / (x_high - x_low) * (WIDTH - LEFT - RIGHT - 10.0);
    let sy = |v: f64| bottom - (v - y_low) / (y_high - y_low) * (bottom - TOP - 20.0);
    svg.value_axis(y_low, y_high, sy);
    for tick in ticks(x_low, x_high, 6) {
        svg.text(sx(tick), bottom + 14.0, "middle", "tick", &compact(tick));
    }
    for p in points {
        let _ = write!(
            svg.out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}" fill-opacity="0.8" data-label="{l}" data-value="{}"><title>{l}: {} rows, {} €</title></circle>"#,
            sx(p.x),
            sy(p.y),
            p.colour,
            p.y,
            compact(p.x),
            compact(p.y),
            l = escape(&p.label)
        );
    }
    for (k, (name, colour)) in legend.iter().enumerate() {
        let lx = LEFT + 10.0 + 70.0 * k as f64;
        let _ = write!(svg.out, r#"<circle cx="{lx:.1}" cy="{:.1}" r="5" fill="{colour}"/>"#, TOP + 4.0);
        svg.text(lx + 9.0, TOP + 8.0, "start", "tick", name);
    }
    svg.axes(x, y);
    svg.finish()
}

/// Box plots on a log scale, one row per label, with extra marked points (flagged amounts).
pub fn boxes(
    title: &str,
    labels: &[String],
    boxes: &[Magnitude],
    colours: &[&str],
    marks: &[(usize, f64)],
    x: &str,
) -> String {
    let row = 20.0;
    let height = TOP + BOTTOM + row * labels.len() as f64;
    let mut svg = Svg::new(title, height);
    let left = LEFT + 80.0;
    let values =
        boxes.iter().flat_map(|b| [b.p1, b.p99]).chain(marks.iter().map(|m| m.1)).filter(|v| *v > 0.0);
    let (low, high) = values.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (low, high) = if low.is_finite() {
        (low.log10().floor(), high.log10().ceil().max(low.log10().floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let sx = |v: f64| left + (v.max(10f64.powf(low)).log10() - low) / (high - low) * (WIDTH - RIGHT - left);
    let bottom = TOP + row * labels.len() as f64;
    let mut decade = low;
    while decade <= high {
        let x = sx(10f64.powf(decade));
        svg.line(x, TOP, x, bottom, "#e5e5e5", 1.0);
        svg.text(x, bottom + 14.0, "middle", "tick", &compact(10f64.powf(decade)));
        decade += 1.0;
    }
    for (i, (label, b)) in labels.iter().zip(boxes).enumerate() {
        let y = TOP + row * i as f64 + row / 2.0;
        let colour = colours[i % colours.len()];
        svg.text(left - 6.0, y + 4.0, "end", "tick", label);
        svg.line(sx(b.p1), y, sx(b.p99), y, colour, 1.2);
        svg.bar(
            sx(b.p25),
            y - 6.0,
            sx(b.p75) - sx(b.p25),
            12.0,
            colour,
            label,
            b.p50,
            &format!("median {}", compact(b.p50)),
        );
        svg.line(sx(b.p50), y - 7.0, sx(b.p50), y + 7.0, "#000000", 2.0);
    }
    for (i, value) in marks {
        let y = TOP + row * *i as f64 + row / 2.0;
        let _ = write!(
            svg.out,
            r#"<circle cx="{:.1}" cy="{y:.1}" r="3.5" fill="none" stroke="{FLAG}" stroke-width="1.5" data-value="{value}"><title>flagged: {}</title></circle>"#,
            sx(*value),
            compact(*value)
        );
    }
    svg.text(left + (WIDTH - left) / 2.0, height - 8.0, "middle", "axis-label", x);
    svg.finish()
}

/// Bullet bars: each value against its band (shaded), on a scale from 0 to the largest.
pub fn bullets(title: &str, items: &[(String, f64, f64, f64)]) -> String {
    let row = 22.0;
    let height = TOP + BOTTOM + row * items.len() as f64;
    let mut svg = Svg::new(title, height);
    let left = LEFT + 190.0;
    let high = items.iter().map(|(_, v, _, h)| v.max(*h)).fold(0.0, f64::max).max(f64::MIN_POSITIVE) * 1.1;
    let sx = |v: f64| left + v / high * (WIDTH - RIGHT - left - 50.0);
    for (i, (label, value, low, band_high)) in items.iter().enumerate() {
        let y = TOP + row * i as f64;
        svg.text(left - 6.0, y + row * 0.65, "end", "tick", label);
        let _ = write!(
            svg.out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#dfe8d8"/>"##,
            sx(*low),
            y + 2.0,
            sx(*band_high) - sx(*low),
            row - 4.0
        );
        let colour = if (low..=band_high).contains(&value) { MAIN } else { OUT };
        svg.bar(
            sx(0.0),
            y + row * 0.35,
            sx(*value) - sx(0.0),
            row * 0.3,
            colour,
            label,
            *value,
            &format!("{value:.4}"),
        );
        svg.text(sx(value.max(*band_high)) + 6.0, y + row * 0.65, "start", "tick", &format!("{value:.3}"));
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert!(ticks(-3.0, 7.0, 5).iter().all(|t| t.fract() == 0.0));
    }

    #[test]
    fn numbers_are_compact_and_text_escaped() {
        assert_eq!(compact(1_234_567.0), "1.2 M");
        assert_eq!(compact(42.0), "42");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
