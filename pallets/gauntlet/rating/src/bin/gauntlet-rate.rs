//! `gauntlet-rate`: rate one game with the on-chain fixed-point model, from the command line.
//!
//! Reads one game as JSON on stdin:
//!
//! ```json
//! {"beta": 7.0, "tau": 0.1, "ratings": [{"mu": 25.0, "sigma": 8.333333}, ...],
//!  "scores": [0.12, -0.3, ...]}
//! ```
//!
//! `beta`, `tau`, `kappa` (default 0.0001) and `limit_sigma` (default false) are optional and
//! default to Templar's model. Prints `{"ratings": [{"mu", "sigma", "ordinal"}, ...]}` in input
//! order. Any bad input (malformed JSON, unknown fields, non-finite or out-of-range numbers,
//! σ ≤ 0, mismatched lengths) prints a message on stderr and exits with status 2, so scripts
//! can tell a rejected game from a crash.

use std::io::Read;
use std::process::ExitCode;

use gauntlet_rating::{ordinal, rate, Fixed, Params, Rating};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputRating {
	mu: f64,
	sigma: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
	beta: Option<f64>,
	tau: Option<f64>,
	kappa: Option<f64>,
	limit_sigma: Option<bool>,
	ratings: Vec<InputRating>,
	scores: Vec<f64>,
}

#[derive(Serialize)]
struct OutputRating {
	mu: f64,
	sigma: f64,
	ordinal: f64,
}

#[derive(Serialize)]
struct Output {
	ratings: Vec<OutputRating>,
}

/// Converts a JSON number to fixed point, rejecting what I64F64 cannot represent.
fn to_fixed(what: &str, v: f64) -> Result<Fixed, String> {
	if !v.is_finite() {
		return Err(format!("{what} is not a finite number ({v})"));
	}
	Fixed::checked_from_num(v).ok_or_else(|| format!("{what} = {v} is out of fixed-point range"))
}

fn run(text: &str) -> Result<Output, String> {
	let input: Input =
		serde_json::from_str(text).map_err(|e| format!("invalid JSON input: {e}"))?;
	let templar = Params::templar();
	let param = |name: &str, v: Option<f64>, default: Fixed| match v {
		Some(v) => to_fixed(name, v),
		None => Ok(default),
	};
	let params = Params {
		beta: param("beta", input.beta, templar.beta)?,
		tau: param("tau", input.tau, templar.tau)?,
		kappa: param("kappa", input.kappa, templar.kappa)?,
		limit_sigma: input.limit_sigma.unwrap_or(false),
	};
	if input.ratings.len() != input.scores.len() {
		return Err(format!(
			"{} ratings but {} scores; they must have the same length",
			input.ratings.len(),
			input.scores.len()
		));
	}
	let mut ratings = Vec::with_capacity(input.ratings.len());
	for (i, r) in input.ratings.iter().enumerate() {
		let mu = to_fixed(&format!("ratings[{i}].mu"), r.mu)?;
		let sigma = to_fixed(&format!("ratings[{i}].sigma"), r.sigma)?;
		if sigma <= Fixed::from_num(0) {
			return Err(format!("ratings[{i}].sigma must be > 0, got {}", r.sigma));
		}
		ratings.push(Rating::new(mu, sigma));
	}
	let scores = input
		.scores
		.iter()
		.enumerate()
		.map(|(i, &s)| to_fixed(&format!("scores[{i}]"), s))
		.collect::<Result<Vec<_>, _>>()?;
	let rated = rate(&params, &ratings, &scores).map_err(|e| format!("cannot rate game: {e}"))?;
	Ok(Output {
		ratings: rated
			.iter()
			.map(|r| OutputRating {
				mu: r.mu.to_num(),
				sigma: r.sigma.to_num(),
				ordinal: ordinal(r).to_num(),
			})
			.collect(),
	})
}

fn main() -> ExitCode {
	let mut text = String::new();
	if let Err(e) = std::io::stdin().read_to_string(&mut text) {
		eprintln!("gauntlet-rate: cannot read stdin: {e}");
		return ExitCode::from(2);
	}
	match run(&text).and_then(|out| serde_json::to_string(&out).map_err(|e| e.to_string())) {
		Ok(json) => {
			println!("{json}");
			ExitCode::SUCCESS
		}
		Err(msg) => {
			eprintln!("gauntlet-rate: {msg}");
			ExitCode::from(2)
		}
	}
}
