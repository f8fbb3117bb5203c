//! Compares `rate` with openskill 6.2.0 (f64) on the vectors in `tests/fixtures/golden.json`
//! (made by `scripts/gen_golden.py`).
//!
//! Error metric: `|fixed − float| / max(|float|, 1e-3)`. The floor only matters for μ values
//! that happen to land near zero, where a relative error is meaningless; σ is always ≥ 1e-3
//! in the fixtures. Run with `--nocapture` to see the worst errors observed.
//!
//! With `GAUNTLET_GOLDEN_DUMP=path` set, the exact I64F64 bits of every game's output are also
//! written to `path` as JSON, for `scripts/check_exact.py` to compare against a 50-digit
//! evaluation (which separates our error from the f64 reference's own rounding).

use gauntlet_rating::{rate, Fixed, Params, Rating};
use serde::Deserialize;

/// The acceptance threshold from the spec. The observed worst case is ~1e-14 (the f64
/// reference's own rounding), so this leaves eight orders of magnitude of headroom.
const MAX_REL_ERR: f64 = 1e-6;

#[derive(Deserialize)]
struct GoldenParams {
	beta: f64,
	tau: f64,
	kappa: f64,
	limit_sigma: bool,
}

#[derive(Deserialize)]
struct Game {
	params: GoldenParams,
	ratings: Vec<[f64; 2]>,
	scores: Vec<f64>,
	expected: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct Window {
	players: Vec<usize>,
	scores: Vec<f64>,
	expected: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct Sequence {
	params: GoldenParams,
	initial: Vec<[f64; 2]>,
	windows: Vec<Window>,
}

#[derive(Deserialize)]
struct Golden {
	openskill: String,
	games: Vec<Game>,
	sequences: Vec<Sequence>,
}

fn fixed(v: f64) -> Fixed {
	Fixed::checked_from_num(v).expect("fixture value fits I64F64")
}

fn params(p: &GoldenParams) -> Params {
	Params {
		beta: fixed(p.beta),
		tau: fixed(p.tau),
		kappa: fixed(p.kappa),
		limit_sigma: p.limit_sigma,
	}
}

fn rating(r: &[f64; 2]) -> Rating {
	Rating::new(fixed(r[0]), fixed(r[1]))
}

/// Worst error seen so far, with where it happened.
#[derive(Default)]
struct Worst {
	mu: (f64, String),
	sigma: (f64, String),
	checked: usize,
}

impl Worst {
	fn check(&mut self, got: &[Rating], want: &[[f64; 2]], at: &str) {
		assert_eq!(got.len(), want.len(), "{at}: wrong number of ratings");
		for (i, (g, w)) in got.iter().zip(want).enumerate() {
			let rel = |g: Fixed, w: f64| (g.to_num::<f64>() - w).abs() / w.abs().max(1e-3);
			let (emu, esigma) = (rel(g.mu, w[0]), rel(g.sigma, w[1]));
			if emu > self.mu.0 {
				self.mu = (emu, format!("{at} player {i}"));
			}
			if esigma > self.sigma.0 {
				self.sigma = (esigma, format!("{at} player {i}"));
			}
			assert!(
				emu <= MAX_REL_ERR && esigma <= MAX_REL_ERR,
				"{at} player {i}: got ({}, {}), openskill ({}, {}), rel err ({emu:e}, {esigma:e})",
				g.mu.to_num::<f64>(),
				g.sigma.to_num::<f64>(),
				w[0],
				w[1],
			);
			self.checked += 1;
		}
	}
}

fn load() -> Golden {
	let text = include_str!("fixtures/golden.json");
	serde_json::from_str(text).expect("golden.json parses")
}

#[test]
fn golden_vectors_match_openskill() {
	let golden = load();
	assert_eq!(golden.openskill, "6.2.0");
	assert!(golden.games.len() >= 300, "fixture too small");
	let mut worst = Worst::default();
	let mut dump: Vec<Vec<[String; 2]>> = Vec::new();

	for (g, game) in golden.games.iter().enumerate() {
		let ratings: Vec<Rating> = game.ratings.iter().map(rating).collect();
		let scores: Vec<Fixed> = game.scores.iter().map(|&s| fixed(s)).collect();
		let out = rate(&params(&game.params), &ratings, &scores)
			.unwrap_or_else(|e| panic!("game {g}: {e}"));
		worst.check(&out, &game.expected, &format!("game {g}"));
		dump.push(
			out.iter()
				.map(|r| [r.mu.to_bits().to_string(), r.sigma.to_bits().to_string()])
				.collect(),
		);
	}
	if let Ok(path) = std::env::var("GAUNTLET_GOLDEN_DUMP") {
		let json = serde_json::to_string(&dump).expect("serialise dump");
		std::fs::write(&path, json).unwrap_or_else(|e| panic!("write {path}: {e}"));
	}

	// Sequences: our own fixed-point output is fed back window after window, exactly as the
	// chain will do, so any drift between the two implementations would compound here.
	for (s, seq) in golden.sequences.iter().enumerate() {
		let p = params(&seq.params);
		let mut state: Vec<Rating> = seq.initial.iter().map(rating).collect();
		for (w, window) in seq.windows.iter().enumerate() {
			let ratings: Vec<Rating> = window.players.iter().map(|&i| state[i]).collect();
			let scores: Vec<Fixed> = window.scores.iter().map(|&v| fixed(v)).collect();
			let out = rate(&p, &ratings, &scores)
				.unwrap_or_else(|e| panic!("sequence {s} window {w}: {e}"));
			worst.check(&out, &window.expected, &format!("sequence {s} window {w}"));
			for (&i, r) in window.players.iter().zip(out) {
				state[i] = r;
			}
		}
	}

	println!(
		"golden: {} player updates checked; worst relative error mu {:.3e} ({}), sigma {:.3e} ({})",
		worst.checked, worst.mu.0, worst.mu.1, worst.sigma.0, worst.sigma.1
	);
}
