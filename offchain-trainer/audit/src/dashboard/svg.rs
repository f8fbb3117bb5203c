//! Charts drawn on the server as inline SVG: nothing to load, works offline, and a test can count
//! the points in the DOM (`circle.point` elements, `data-points` attributes).

use std::fmt::Write;

/// One line of a chart.
pub struct Series<'a> {
	/// Name in the legend and CSS class of its points (`point <class>`).
	pub class: &'a str,
	/// Stroke colour.
	pub color: &'a str,
	/// `(x, y)` points, x ascending.
	pub points: Vec<(f64, f64)>,
}

/// A trend line without axes, `width`×`height` pixels, for a table cell. The `<svg>` carries
/// `data-points` with the number of points.
pub fn sparkline(points: &[f64], width: u32, height: u32) -> String {
	let mut svg = format!(
		r#"<svg class="sparkline" data-points="{}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#,
		points.len()
	);
	if !points.is_empty() {
		let (lo, hi) = bounds(points.iter().copied());
		let (w, h) = (f64::from(width), f64::from(height));
		let x = |i: usize| {
			if points.len() == 1 {
				w / 2.0
			} else {
				1.0 + (w - 2.0) * i as f64 / (points.len() - 1) as f64
			}
		};
		let y = |v: f64| h - 2.0 - (h - 4.0) * (v - lo) / (hi - lo);
		let coords: Vec<String> =
			points.iter().enumerate().map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v))).collect();
		let _ = write!(svg, r#"<polyline points="{}"/>"#, coords.join(" "));
		if let Some(&last) = points.last() {
			let _ = write!(
				svg,
				r#"<circle cx="{:.1}" cy="{:.1}" r="2"/>"#,
				x(points.len() - 1),
				y(last)
			);
		}
	}
	svg.push_str("</svg>");
	svg
}

/// A line chart with axes, grid and a point per value. `x_label` names the x axis.
pub fn line_chart(series: &[Series], x_label: &str, width: u32, height: u32) -> String {
	const LEFT: f64 = 56.0;
	const RIGHT: f64 = 16.0;
	const TOP: f64 = 24.0;
	const BOTTOM: f64 = 36.0;
	let total: usize = series.iter().map(|s| s.points.len()).sum();
	let mut svg = format!(
		r#"<svg class="line-chart" data-points="{total}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#
	);
	let (w, h) = (f64::from(width), f64::from(height));
	let all = || series.iter().flat_map(|s| s.points.iter());
	if total == 0 {
		let _ = write!(
			svg,
			r#"<text x="{:.0}" y="{:.0}" text-anchor="middle" class="empty">no closed window yet</text></svg>"#,
			w / 2.0,
			h / 2.0
		);
		return svg;
	}
	let (x_lo, x_hi) = bounds(all().map(|p| p.0));
	let (y_lo, y_hi) = bounds(all().map(|p| p.1));
	let px = |x: f64| LEFT + (w - LEFT - RIGHT) * (x - x_lo) / (x_hi - x_lo);
	let py = |y: f64| h - BOTTOM - (h - TOP - BOTTOM) * (y - y_lo) / (y_hi - y_lo);

	// Grid and labels: five horizontal lines, x ticks at up to eight whole windows.
	for i in 0..=4 {
		let v = y_lo + (y_hi - y_lo) * f64::from(i) / 4.0;
		let _ = write!(
			svg,
			r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"#,
			w - RIGHT,
			LEFT - 6.0,
			py(v) + 4.0,
			y = py(v),
		);
	}
	let span = (x_hi - x_lo).max(1.0);
	let step = (span / 8.0).ceil().max(1.0);
	let mut tick = x_lo.ceil();
	while tick <= x_hi {
		let _ = write!(
			svg,
			r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{tick:.0}</text>"#,
			px(tick),
			h - BOTTOM + 16.0
		);
		tick += step;
	}
	let _ = write!(
		svg,
		r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
		(LEFT + w - RIGHT) / 2.0,
		h - 4.0,
		super::html::esc(x_label)
	);

	for (i, s) in series.iter().enumerate() {
		let coords: Vec<String> =
			s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
		let _ = write!(
			svg,
			r#"<polyline class="series {class}" stroke="{color}" points="{}"/>"#,
			coords.join(" "),
			class = super::html::esc(s.class),
			color = super::html::esc(s.color),
		);
		for &(x, y) in &s.points {
			let _ = write!(
				svg,
				r#"<circle class="point {class}" fill="{color}" cx="{:.1}" cy="{:.1}" r="3" data-x="{x}" data-y="{y:.6}"><title>{class} {y:.4} (window {x})</title></circle>"#,
				px(x),
				py(y),
				class = super::html::esc(s.class),
				color = super::html::esc(s.color),
			);
		}
		// Legend, top left, one entry per series.
		let lx = LEFT + 8.0 + 110.0 * i as f64;
		let _ = write!(
			svg,
			r#"<rect x="{lx:.1}" y="6" width="12" height="4" fill="{color}"/><text class="legend" x="{:.1}" y="12">{class}</text>"#,
			lx + 16.0,
			class = super::html::esc(s.class),
			color = super::html::esc(s.color),
		);
	}
	svg.push_str("</svg>");
	svg
}

/// `(min, max)` of `values`, widened so the range is never empty.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
	let (lo, hi) = values
		.filter(|v| v.is_finite())
		.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
	if !lo.is_finite() {
		return (0.0, 1.0);
	}
	if hi - lo < 1e-9 {
		(lo - 0.5, hi + 0.5)
	} else {
		let pad = (hi - lo) * 0.05;
		(lo - pad, hi + pad)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sparkline_reports_its_point_count() {
		let svg = sparkline(&[1.0, 2.0, 1.5], 80, 20);
		assert!(svg.contains(r#"data-points="3""#), "{svg}");
		assert_eq!(svg.matches("<polyline").count(), 1);
		assert!(sparkline(&[], 80, 20).contains(r#"data-points="0""#));
	}

	#[test]
	fn line_chart_draws_one_circle_per_point() {
		let series = [
			Series { class: "mu", color: "#1f77b4", points: vec![(1.0, 25.0), (2.0, 26.0)] },
			Series { class: "ordinal", color: "#d62728", points: vec![(1.0, 0.0), (2.0, 1.5)] },
		];
		let svg = line_chart(&series, "window", 600, 240);
		assert_eq!(svg.matches(r#"class="point mu""#).count(), 2);
		assert_eq!(svg.matches(r#"class="point ordinal""#).count(), 2);
		assert!(svg.contains(r#"data-points="4""#));
	}

	#[test]
	fn a_single_flat_point_still_has_a_range() {
		let svg = line_chart(
			&[Series { class: "mu", color: "red", points: vec![(3.0, 25.0)] }],
			"window",
			300,
			200,
		);
		assert!(!svg.contains("NaN"), "{svg}");
	}
}
