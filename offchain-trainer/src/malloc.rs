//! Allocator tuning for CPU training with libtorch on glibc.
//!
//! glibc serves large blocks with `mmap` and hands freed memory back to the kernel, so every
//! training step pays page faults to re-fault the same activation and gradient buffers; on the
//! project's 2-core machines that doubled the wall time of a step (as much system time as user
//! time). Raising the thresholds keeps those buffers in the heap between steps.

/// Keeps blocks up to 32 MiB (glibc's maximum) on the heap and stops trimming freed memory back
/// to the kernel. Call once at start-up; a no-op on non-glibc targets.
pub fn keep_freed_memory() {
	#[cfg(all(target_os = "linux", target_env = "gnu"))]
	// SAFETY: `mallopt` only adjusts allocator parameters; called before any other thread
	// exists, with documented options and values.
	unsafe {
		libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
		libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
		libc::mallopt(libc::M_TOP_PAD, 512 << 20);
	}
}
