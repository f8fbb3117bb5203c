// Multi-tensor AdamW with global gradient-norm clipping: three launches over every parameter of the
// model instead of about ten per parameter (see fused.rs). Work is cut into blocks of CHUNK
// elements of one tensor; `chunk_tensor` / `chunk_start` say which.

typedef unsigned int u32;
typedef unsigned long long u64;

#define THREADS 256
#define CHUNK 16384 // elements per block
#define FULL 0xffffffffu

struct ParamDesc {
	u64 param; // f32
	u64 grad;  // f32
	u64 m;     // f32 first moment
	u64 v;     // f32 second moment
	u64 numel;
	u64 decay; // 1: decoupled weight decay applies
};

__device__ __forceinline__ double warp_sum(double x) {
	#pragma unroll
	for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(FULL, x, o);
	return x;
}

// Σ g² of one chunk (f32 per thread, f64 across the block) into partial[block].
extern "C" __global__ void __launch_bounds__(THREADS) grad_sq_partial(
	const ParamDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor,
	const u64* __restrict__ chunk_start, double* __restrict__ partial)
{
	__shared__ double s[THREADS / 32];
	const ParamDesc d = descs[chunk_tensor[blockIdx.x]];
	const u64 start = chunk_start[blockIdx.x];
	const u64 end = min(start + (u64)CHUNK, d.numel);
	const float* g = (const float*)d.grad;
	float acc = 0.0f;
	#pragma unroll 4
	for (u64 i = start + threadIdx.x; i < end; i += THREADS) {
		const float x = g[i];
		acc = fmaf(x, x, acc);
	}
	const double w = warp_sum((double)acc);
	if ((threadIdx.x & 31) == 0) s[threadIdx.x >> 5] = w;
	__syncthreads();
	if (threadIdx.x == 0) {
		double t = 0.0;
		for (int i = 0; i < THREADS / 32; i++) t += s[i];
		partial[blockIdx.x] = t;
	}
}

// out[0] = ‖g‖ (f64), out[1] = the clip factor max_norm/(‖g‖ + 1e-6) when max_norm > 0 and
// ‖g‖ > max_norm, else 1.
extern "C" __global__ void __launch_bounds__(THREADS) grad_norm_finish(
	const double* __restrict__ partial, u64 n, double max_norm, double* __restrict__ out)
{
	__shared__ double s[THREADS / 32];
	double acc = 0.0;
	for (u64 i = threadIdx.x; i < n; i += THREADS) acc += partial[i];
	acc = warp_sum(acc);
	if ((threadIdx.x & 31) == 0) s[threadIdx.x >> 5] = acc;
	__syncthreads();
	if (threadIdx.x == 0) {
		double t = 0.0;
		for (int i = 0; i < THREADS / 32; i++) t += s[i];
		const double norm = sqrt(t);
		out[0] = norm;
		out[1] = (max_norm > 0.0 && norm > max_norm) ? max_norm / (norm + 1e-6) : 1.0;
	}
}

// One AdamW update of one chunk, with the gradient scaled by the clip factor in clip[1]:
// p ← p·(1 − lr·wd) (matrices), m ← m + (1 − β₁)(g − m), v ← β₂·v + (1 − β₂)·g²,
// p ← p − (lr / bias1) · m / (√v / √bias2 + ε).
extern "C" __global__ void __launch_bounds__(THREADS) adamw_step(
	const ParamDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor,
	const u64* __restrict__ chunk_start, const double* __restrict__ clip, float lr, float beta1,
	float beta2, float eps, float weight_decay, float step_size, float bias2_sqrt)
{
	const ParamDesc d = descs[chunk_tensor[blockIdx.x]];
	const u64 start = chunk_start[blockIdx.x];
	const u64 end = min(start + (u64)CHUNK, d.numel);
	float* p = (float*)d.param;
	const float* g = (const float*)d.grad;
	float* m = (float*)d.m;
	float* v = (float*)d.v;
	const float scale = (float)clip[1];
	const float keep = d.decay ? 1.0f - lr * weight_decay : 1.0f;
	#pragma unroll 4
	for (u64 i = start + threadIdx.x; i < end; i += THREADS) {
		const float gi = g[i] * scale;
		const float mi = m[i] + (1.0f - beta1) * (gi - m[i]);
		const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		const float denom = sqrtf(vi) / bias2_sqrt + eps;
		p[i] = p[i] * keep - step_size * (mi / denom);
	}
}
