//! The Gauntlet auditor: reads the chain through `gauntlet-chain` (never writes), and shows it
//! as CLI tables/JSON/CSV, a PNG chart, or a live web dashboard.
//!
//! - [`views`]: one struct per page, assembled from chain reads (shared by CLI and web).
//! - [`output`]: table, JSON and CSV printing for the CLI.
//! - [`png`]: ratings over windows as a PNG.
//! - [`dashboard`]: the web server (`gauntlet-audit serve`).

pub mod dashboard;
pub mod output;
pub mod png;
pub mod views;
