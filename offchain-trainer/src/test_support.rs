//! Helpers shared by the crate's unit tests.

/// Ends a test whose prerequisite (a library such as libnvrtc, a device) is missing. Outside CI
/// the test is skipped, with `why` on stderr, so it passes on a laptop without CUDA. Under CI
/// (`CI=true`, which `.ci/run` sets) it fails instead: CI is where the prerequisite is supposed
/// to be installed, and a test that quietly skipped there would read as a pass.
pub(crate) fn skip_or_fail_in_ci(why: &str) {
	let ci = std::env::var("CI").ok();
	assert!(!in_ci(ci.as_deref()), "{why}, and under CI (CI=true) this test must run, not skip");
	eprintln!("skipped: {why}");
}

/// Whether the value of `CI` says the tests run in CI (`true`, as GitHub Actions and GitLab
/// set it, and `.ci/run`).
fn in_ci(value: Option<&str>) -> bool {
	value == Some("true")
}

#[test]
fn only_ci_true_means_ci() {
	assert!(in_ci(Some("true")));
	assert!(!in_ci(None));
	assert!(!in_ci(Some("false")));
	assert!(!in_ci(Some("")));
}
