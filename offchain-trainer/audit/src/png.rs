//! `gauntlet-audit chart`: every miner's rating over windows as a PNG (plotters' bitmap backend;
//! text through ab_glyph with a TrueType font read from the system, DejaVu Sans by default).

use gauntlet_chain::{types::RatingSnapshot, AccountId};
use plotters::{prelude::*, style::FontStyle};
use std::{path::Path, sync::OnceLock};

/// Fonts tried in order; `GAUNTLET_FONT` (a .ttf path) goes first when set.
const FONT_CANDIDATES: &[&str] = &[
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/TTF/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Which rating value to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
	/// `μ − 3σ`, what the final weight is built from.
	Ordinal,
	/// Mean skill μ.
	Mu,
	/// Final weight (share of emissions), in percent.
	Weight,
}

impl Metric {
	fn of(self, s: &RatingSnapshot) -> f64 {
		match self {
			Self::Ordinal => s.ordinal,
			Self::Mu => s.mu,
			Self::Weight => s.final_weight * 100.0,
		}
	}

	fn label(self) -> &'static str {
		match self {
			Self::Ordinal => "ordinal (mu - 3 sigma)",
			Self::Mu => "mu",
			Self::Weight => "final weight (%)",
		}
	}
}

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
	/// No usable TrueType font: install `fonts-dejavu-core` or set `GAUNTLET_FONT`.
	#[error("no TrueType font found (tried $GAUNTLET_FONT and {0}); install fonts-dejavu-core")]
	NoFont(String),
	/// Nothing to draw.
	#[error("no rating history in the windows asked for")]
	Empty,
	/// Drawing or encoding failed.
	#[error("drawing the chart: {0}")]
	Draw(String),
}

fn register_font() -> Result<(), ChartError> {
	static FONT: OnceLock<Result<(), String>> = OnceLock::new();
	let result = FONT.get_or_init(|| {
		let env = std::env::var("GAUNTLET_FONT").ok();
		for path in env.iter().map(String::as_str).chain(FONT_CANDIDATES.iter().copied()) {
			if let Ok(bytes) = std::fs::read(path) {
				// plotters keeps the font for the life of the process.
				let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
				if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
					return Ok(());
				}
			}
		}
		Err(FONT_CANDIDATES.join(", "))
	});
	result.clone().map_err(ChartError::NoFont)
}

fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
	ChartError::Draw(e.to_string())
}

/// Draw `metric` for each miner's `history` (one line each) into a PNG at `path`.
pub fn ratings_png(
	histories: &[(AccountId, Vec<RatingSnapshot>)],
	metric: Metric,
	path: &Path,
) -> Result<(), ChartError> {
	let points = || histories.iter().flat_map(|(_, h)| h.iter());
	if points().next().is_none() {
		return Err(ChartError::Empty);
	}
	register_font()?;
	let (x_lo, x_hi) =
		points().fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s.window), hi.max(s.window)));
	let (y_lo, y_hi) = points()
		.map(|s| metric.of(s))
		.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
	let pad = ((y_hi - y_lo) * 0.08).max(0.5);

	let root = BitMapBackend::new(path, (1100, 560)).into_drawing_area();
	root.fill(&WHITE).map_err(draw_err)?;
	let mut chart = ChartBuilder::on(&root)
		.caption(format!("Gauntlet miner ratings: {}", metric.label()), ("sans-serif", 22))
		.margin(16)
		.x_label_area_size(40)
		.y_label_area_size(60)
		.build_cartesian_2d(x_lo as f64 - 0.5..x_hi as f64 + 0.5, y_lo - pad..y_hi + pad)
		.map_err(draw_err)?;
	chart
		.configure_mesh()
		.x_desc("window")
		.y_desc(metric.label())
		.x_labels(((x_hi - x_lo + 1) as usize).clamp(2, 12))
		// Windows are whole numbers: label only the ticks that fall on one.
		.x_label_formatter(&|x| {
			if (x - x.round()).abs() < 1e-6 {
				format!("{x:.0}")
			} else {
				String::new()
			}
		})
		.draw()
		.map_err(draw_err)?;
	for (i, (miner, history)) in histories.iter().enumerate() {
		let color = Palette99::pick(i).to_rgba();
		let series: Vec<(f64, f64)> =
			history.iter().map(|s| (s.window as f64, metric.of(s))).collect();
		let label = miner.to_string().chars().take(8).collect::<String>();
		chart
			.draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
			.map_err(draw_err)?
			.label(label)
			.legend(move |(x, y)| {
				PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
			});
		chart
			.draw_series(series.into_iter().map(|p| Circle::new(p, 3, color.filled())))
			.map_err(draw_err)?;
	}
	chart
		.configure_series_labels()
		.position(SeriesLabelPosition::UpperLeft)
		.background_style(WHITE.mix(0.85))
		.border_style(BLACK)
		.label_font(("sans-serif", 14))
		.draw()
		.map_err(draw_err)?;
	root.present().map_err(draw_err)?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn snapshot(window: u64, ordinal: f64) -> RatingSnapshot {
		RatingSnapshot {
			window,
			mu: ordinal + 25.0,
			sigma: 8.3,
			ordinal,
			binary_ma: 0.0,
			sync: 1.0,
			final_weight: 0.5,
		}
	}

	#[test]
	fn draws_a_png_file() {
		let dir = std::env::temp_dir().join(format!("gauntlet-audit-png-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("temp dir");
		let path = dir.join("ratings.png");
		let histories = vec![
			(AccountId::from([1u8; 32]), vec![snapshot(3, -0.5), snapshot(4, 0.7)]),
			(AccountId::from([2u8; 32]), vec![snapshot(3, 0.2), snapshot(4, -0.1)]),
		];
		match ratings_png(&histories, Metric::Ordinal, &path) {
			Ok(()) => {
				let bytes = std::fs::read(&path).expect("png written");
				assert_eq!(&bytes[1..4], b"PNG");
			}
			// A machine without fonts cannot draw text; that is reported, not a panic.
			Err(ChartError::NoFont(_)) => {}
			Err(e) => panic!("{e}"),
		}
		let _ = std::fs::remove_dir_all(&dir);
	}

	#[test]
	fn nothing_to_draw_is_an_error() {
		let path = std::env::temp_dir().join("gauntlet-audit-empty.png");
		assert!(matches!(ratings_png(&[], Metric::Mu, &path), Err(ChartError::Empty)));
	}
}
