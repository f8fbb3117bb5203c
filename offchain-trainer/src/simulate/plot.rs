//! The simulation's plot: held-out loss against training tokens and against bytes each peer
//! sent, one line per method, as a PNG (plotters' bitmap backend; text through ab_glyph with a
//! TrueType font read from the system, DejaVu Sans by default).

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{Method, RoundRecord};

/// Fonts tried in order; `GAUNTLET_FONT` (a .ttf path) goes first when set.
pub const FONT_CANDIDATES: &[&str] = &[
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/TTF/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// A plot that could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
	/// No usable TrueType font: install `fonts-dejavu-core` or set `GAUNTLET_FONT`.
	#[error("no TrueType font found (tried $GAUNTLET_FONT and {0}); install fonts-dejavu-core")]
	NoFont(String),
	/// Drawing or encoding failed.
	#[error("drawing the plot: {0}")]
	Draw(String),
}

fn register_font() -> Result<(), PlotError> {
	static FONT: OnceLock<Result<(), String>> = OnceLock::new();
	let result = FONT.get_or_init(|| {
		let env = std::env::var("GAUNTLET_FONT").ok();
		for path in env.iter().map(String::as_str).chain(FONT_CANDIDATES.iter().copied()) {
			if let Ok(bytes) = std::fs::read(path) {
				let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
				if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
					return Ok(());
				}
			}
		}
		Err(FONT_CANDIDATES.join(", "))
	});
	result.clone().map_err(PlotError::NoFont)
}

fn color(method: Method) -> RGBColor {
	match method {
		Method::Sparseloco => RGBColor(214, 39, 40),
		Method::Diloco => RGBColor(31, 119, 180),
		Method::Ddp => RGBColor(44, 160, 44),
	}
}

/// `1234567` → `1.23M`, `45000` → `45k`, `1000000` → `1M`, `800` → `800`.
fn human(x: f64) -> String {
	let (v, unit) = match x.abs() {
		a if a >= 1e9 => (x / 1e9, "G"),
		a if a >= 1e6 => (x / 1e6, "M"),
		a if a >= 1e3 => (x / 1e3, "k"),
		_ => (x, ""),
	};
	let text = format!("{v:.2}");
	let text = text.trim_end_matches('0').trim_end_matches('.');
	format!("{text}{unit}")
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
	PlotError::Draw(e.to_string())
}

/// Draws `records` (any mix of methods) into a PNG at `path`, titled `title`.
pub fn plot(records: &[RoundRecord], path: &Path, title: &str) -> Result<(), PlotError> {
	register_font()?;
	let mut methods: Vec<Method> = records.iter().map(|r| r.method).collect();
	methods.dedup();
	let finite = || records.iter().filter(|r| r.heldout_loss.is_finite());
	let y_min = finite().map(|r| r.heldout_loss).fold(f64::INFINITY, f64::min);
	let y_max = finite().map(|r| r.heldout_loss).fold(f64::NEG_INFINITY, f64::max);
	if !(y_min.is_finite() && y_max.is_finite()) {
		return Err(PlotError::Draw("no finite held-out loss to plot".into()));
	}
	let pad = ((y_max - y_min) * 0.05).max(1e-3);
	let y_range = (y_min - pad)..(y_max + pad);
	let max_tokens = records.iter().map(|r| r.tokens).max().unwrap_or(1).max(1) as f64;
	let sent = || records.iter().filter(|r| r.bytes_per_peer_total > 0);
	let min_bytes = sent().map(|r| r.bytes_per_peer_total).min().unwrap_or(1) as f64;
	let max_bytes = sent().map(|r| r.bytes_per_peer_total).max().unwrap_or(10) as f64;

	let root = BitMapBackend::new(path, (1500, 620)).into_drawing_area();
	root.fill(&WHITE).map_err(draw_err)?;
	let root = root.titled(title, ("sans-serif", 24)).map_err(draw_err)?;
	let (left, right) = root.split_horizontally(750);

	let mut by_tokens = ChartBuilder::on(&left)
		.caption("held-out loss vs training tokens (all peers)", ("sans-serif", 20))
		.margin(15)
		.x_label_area_size(45)
		.y_label_area_size(60)
		.build_cartesian_2d(0f64..max_tokens * 1.02, y_range.clone())
		.map_err(draw_err)?;
	by_tokens
		.configure_mesh()
		.x_desc("tokens")
		.y_desc("held-out loss (nats/token)")
		.x_label_formatter(&|x| human(*x))
		.draw()
		.map_err(draw_err)?;
	for &m in &methods {
		let points =
			records.iter().filter(|r| r.method == m).map(|r| (r.tokens as f64, r.heldout_loss));
		by_tokens
			.draw_series(LineSeries::new(points, color(m).stroke_width(2)))
			.map_err(draw_err)?
			.label(m.name())
			.legend(move |(x, y)| {
				PathElement::new(vec![(x, y), (x + 20, y)], color(m).stroke_width(2))
			});
	}
	by_tokens
		.configure_series_labels()
		.position(SeriesLabelPosition::UpperRight)
		.background_style(WHITE.mix(0.8))
		.border_style(BLACK)
		.label_font(("sans-serif", 16))
		.draw()
		.map_err(draw_err)?;

	let mut by_bytes = ChartBuilder::on(&right)
		.caption("held-out loss vs bytes sent per peer (log)", ("sans-serif", 20))
		.margin(15)
		.x_label_area_size(45)
		.y_label_area_size(60)
		.build_cartesian_2d((min_bytes * 0.8..max_bytes * 1.25).log_scale(), y_range)
		.map_err(draw_err)?;
	by_bytes
		.configure_mesh()
		.x_desc("bytes sent per peer (cumulative)")
		.y_desc("held-out loss (nats/token)")
		.x_label_formatter(&|x| format!("{}B", human(*x)))
		.draw()
		.map_err(draw_err)?;
	for &m in &methods {
		let points = records
			.iter()
			.filter(|r| r.method == m && r.bytes_per_peer_total > 0)
			.map(|r| (r.bytes_per_peer_total as f64, r.heldout_loss));
		by_bytes
			.draw_series(LineSeries::new(points, color(m).stroke_width(2)))
			.map_err(draw_err)?
			.label(m.name())
			.legend(move |(x, y)| {
				PathElement::new(vec![(x, y), (x + 20, y)], color(m).stroke_width(2))
			});
	}
	by_bytes
		.configure_series_labels()
		.position(SeriesLabelPosition::UpperRight)
		.background_style(WHITE.mix(0.8))
		.border_style(BLACK)
		.label_font(("sans-serif", 16))
		.draw()
		.map_err(draw_err)?;
	root.present().map_err(draw_err)?;
	Ok(())
}
