# Sourced by every project script: where things live and what the build reads.
# Outside the clone on purpose, so a fresh clone (CI) reuses an earlier build on this machine.
export GAUNTLET_HOME="${GAUNTLET_HOME:-/var/cache/gauntlet}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$GAUNTLET_HOME/target}"
export GAUNTLET_VENV="${GAUNTLET_VENV:-$GAUNTLET_HOME/venv}"
export TORCH_VERSION="2.11.0"
export SUBSTRATE_INTERFACE_VERSION="1.8.1"
export TRANSFORMERS_VERSION="4.57.6"
# tch/torch-sys: build against the venv's PyTorch, and find its shared libraries at run time.
export LIBTORCH_USE_PYTORCH=1
export PATH="$GAUNTLET_VENV/bin:$HOME/.cargo/bin:$PATH"
_torch_lib="$(ls -d "$GAUNTLET_VENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n1 || true)"
[ -n "$_torch_lib" ] && export LD_LIBRARY_PATH="$_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# NVIDIA's libnvrtc from the same venv: the unit tests compile the CUDA kernels with it (no GPU
# needed), so a kernel that does not compile fails here rather than on the GPU machine.
for _d in "$GAUNTLET_VENV"/lib/python3*/site-packages/nvidia/*/lib; do
	if ls "$_d"/libnvrtc.so* >/dev/null 2>&1; then
		export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$_d"
		break
	fi
done
unset _torch_lib _d
