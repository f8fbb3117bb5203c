//! Runs the `gauntlet-rate` binary on good and bad inputs. The binary only exists with the
//! `cli` feature: `cargo test --features cli` (or `--all-features`); `scripts/test.sh` runs them.
#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(stdin: &str) -> Output {
	let mut child = Command::new(env!("CARGO_BIN_EXE_gauntlet-rate"))
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.expect("spawn gauntlet-rate");
	child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
	child.wait_with_output().expect("wait")
}

fn ratings(out: &Output) -> Vec<(f64, f64, f64)> {
	assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
	let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
	v["ratings"]
		.as_array()
		.expect("ratings array")
		.iter()
		.map(|r| {
			(
				r["mu"].as_f64().expect("mu"),
				r["sigma"].as_f64().expect("sigma"),
				r["ordinal"].as_f64().expect("ordinal"),
			)
		})
		.collect()
}

fn assert_rejected(stdin: &str, needle: &str) {
	let out = run(stdin);
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert_eq!(out.status.code(), Some(2), "input {stdin}: stderr {stderr}");
	assert!(out.stdout.is_empty(), "nothing on stdout for {stdin}");
	assert!(stderr.contains(needle), "stderr for {stdin} should mention {needle:?}: {stderr}");
}

#[test]
fn rates_a_game_like_openskill() {
	let out = run(r#"{"beta": 7.0, "tau": 0.1,
		"ratings": [{"mu": 30, "sigma": 5}, {"mu": 20, "sigma": 3}, {"mu": 25, "sigma": 8}],
		"scores": [1.0, 1.0, 0.5]}"#);
	let got = ratings(&out);
	// openskill 6.2.0: PlackettLuce(beta=7, tau=0.1).rate(..., scores=[1, 1, 0.5])
	let want = [
		(30.09017306742864, 4.980834070970685),
		(20.15301617589156, 2.999767849345018),
		(23.682136009879816, 7.883102371080896),
	];
	assert_eq!(got.len(), 3);
	for ((mu, sigma, ord), (wmu, wsigma)) in got.iter().zip(want) {
		assert!((mu - wmu).abs() < 1e-12, "{mu} vs {wmu}");
		assert!((sigma - wsigma).abs() < 1e-12, "{sigma} vs {wsigma}");
		assert!((ord - (mu - 3.0 * sigma)).abs() < 1e-12);
	}
}

#[test]
fn params_default_to_templar() {
	let explicit = run(r#"{"beta": 7.0, "tau": 0.1, "kappa": 0.0001, "limit_sigma": false,
		"ratings": [{"mu": 25, "sigma": 8.333333}, {"mu": 25, "sigma": 8.333333}],
		"scores": [0.12, -0.3]}"#);
	let implicit =
		run(r#"{"ratings": [{"mu": 25, "sigma": 8.333333}, {"mu": 25, "sigma": 8.333333}],
		"scores": [0.12, -0.3]}"#);
	let (a, b) = (ratings(&explicit), ratings(&implicit));
	for (x, y) in a.iter().zip(&b) {
		assert!((x.0 - y.0).abs() < 1e-15 && (x.1 - y.1).abs() < 1e-15);
	}
	assert!(a[0].0 > 25.0 && a[1].0 < 25.0, "winner gains");
}

#[test]
fn rejects_bad_input_with_exit_code_2() {
	assert_rejected("{not json", "invalid JSON");
	assert_rejected("", "invalid JSON");
	assert_rejected(
		r#"{"ratings": [{"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"1 ratings but 2 scores",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": 25, "sigma": 0}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"ratings[0].sigma must be > 0",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": 25, "sigma": 1}, {"mu": 25, "sigma": -3}], "scores": [1, 2]}"#,
		"ratings[1].sigma must be > 0",
	);
	// JSON has no NaN/Infinity literals; overlong exponents are the only way to spell them.
	assert_rejected(
		r#"{"ratings": [{"mu": 1e999, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"invalid JSON",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": NaN, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"invalid JSON",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": 1e30, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"out of fixed-point range",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": 1e12, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"|mu| must be at most",
	);
	assert_rejected(r#"{"ratings": [{"mu": 25, "sigma": 1}], "scores": [1]}"#, "at least 2");
	assert_rejected(r#"{"ratings": [], "scores": []}"#, "at least 2");
	assert_rejected(
		r#"{"beta": -1, "ratings": [{"mu": 25, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2]}"#,
		"beta and tau must be >= 0",
	);
	assert_rejected(
		r#"{"ratings": [{"mu": 25, "sigma": 1}, {"mu": 25, "sigma": 1}], "scores": [1, 2], "beat": 3}"#,
		"unknown field",
	);
	assert_rejected(r#"{"ratings": [{"mu": 25}], "scores": [1]}"#, "missing field");
	assert_rejected(r#"{"ratings": [{"mu": "25", "sigma": 1}], "scores": [1]}"#, "invalid JSON");
}
