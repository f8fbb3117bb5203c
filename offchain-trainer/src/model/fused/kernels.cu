// The decoder's memory-bound steps as single passes over bf16 activations (see ops.rs): RMSNorm
// forward and backward, rotary embedding, SwiGLU forward and backward, and cross-entropy with its
// gradient. Arithmetic is f32; every bf16 result is rounded once, to nearest even (as c10 does).
// bf16 is handled as raw 16-bit words so that NVRTC needs no headers.

typedef unsigned short bf16;
typedef unsigned int u32;
typedef long long i64;

#define THREADS 256
#define WARPS (THREADS / 32)
#define FULL 0xffffffffu
// Columns one thread owns in the norm kernels: widths up to THREADS * MAX_COLS (4096).
#define MAX_COLS 16
// NVRTC has no math.h: −∞ by its bit pattern.
#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float load(const bf16* p, i64 i) {
	return __uint_as_float(((u32)p[i]) << 16);
}

__device__ __forceinline__ bf16 round_bf16(float f) {
	u32 u = __float_as_uint(f);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)0x7fc0; // NaN stays NaN
	u += 0x7fffu + ((u >> 16) & 1u);
	return (bf16)(u >> 16);
}

__device__ __forceinline__ float warp_sum(float x) {
	#pragma unroll
	for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(FULL, x, o);
	return x;
}

// Sum over the block; every thread gets the total. `s` holds WARPS floats.
__device__ __forceinline__ float block_sum(float x, float* s) {
	x = warp_sum(x);
	__syncthreads(); // s may still be read from the previous call
	if ((threadIdx.x & 31) == 0) s[threadIdx.x >> 5] = x;
	__syncthreads();
	float t = 0.0f;
	#pragma unroll
	for (int i = 0; i < WARPS; i++) t += s[i];
	return t;
}

// y = x · rstd · g with rstd = 1/sqrt(mean(x²) + eps), one row of width d per block iteration;
// rstd (f32) is kept for the backward pass.
extern "C" __global__ void __launch_bounds__(THREADS) rms_norm_forward(
	const bf16* __restrict__ x, const float* __restrict__ g, bf16* __restrict__ y,
	float* __restrict__ rstd, int rows, int d, float eps)
{
	__shared__ float s[WARPS];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		const i64 base = (i64)r * d;
		float v[MAX_COLS];
		float acc = 0.0f;
		#pragma unroll
		for (int j = 0; j < MAX_COLS; j++) {
			const int c = threadIdx.x + j * THREADS;
			v[j] = c < d ? load(x, base + c) : 0.0f;
			acc += v[j] * v[j];
		}
		const float rs = rsqrtf(block_sum(acc, s) / (float)d + eps);
		#pragma unroll
		for (int j = 0; j < MAX_COLS; j++) {
			const int c = threadIdx.x + j * THREADS;
			if (c < d) y[base + c] = round_bf16(v[j] * rs * g[c]);
		}
		if (threadIdx.x == 0) rstd[r] = rs;
	}
}

// With n = x · rstd and dn = dy · g: dx = rstd · (dn − n · mean(dn · n)) (+ residual, the
// gradient arriving through the skip connection), and dg = Σ_rows dy · n, written per block into
// dg_partial[blockIdx.x][d] (summed by the caller, so the result does not depend on timing).
extern "C" __global__ void __launch_bounds__(THREADS) rms_norm_backward(
	const bf16* __restrict__ dy, const bf16* __restrict__ x, const float* __restrict__ rstd,
	const float* __restrict__ g, const bf16* __restrict__ residual, bf16* __restrict__ dx,
	float* __restrict__ dg_partial, int rows, int d)
{
	__shared__ float s[WARPS];
	float dg[MAX_COLS];
	#pragma unroll
	for (int j = 0; j < MAX_COLS; j++) dg[j] = 0.0f;
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		const i64 base = (i64)r * d;
		const float rs = rstd[r];
		float n[MAX_COLS], dn[MAX_COLS];
		float acc = 0.0f;
		#pragma unroll
		for (int j = 0; j < MAX_COLS; j++) {
			const int c = threadIdx.x + j * THREADS;
			const float dyc = c < d ? load(dy, base + c) : 0.0f;
			n[j] = c < d ? load(x, base + c) * rs : 0.0f;
			dn[j] = c < d ? dyc * g[c] : 0.0f;
			dg[j] += dyc * n[j];
			acc += dn[j] * n[j];
		}
		const float mean = block_sum(acc, s) / (float)d;
		#pragma unroll
		for (int j = 0; j < MAX_COLS; j++) {
			const int c = threadIdx.x + j * THREADS;
			if (c < d) {
				float v = rs * (dn[j] - n[j] * mean);
				if (residual) v += load(residual, base + c);
				dx[base + c] = round_bf16(v);
			}
		}
	}
	#pragma unroll
	for (int j = 0; j < MAX_COLS; j++) {
		const int c = threadIdx.x + j * THREADS;
		if (c < d) dg_partial[(i64)blockIdx.x * d + c] = dg[j];
	}
}

// Rotates, in place, the first `heads` heads of every row of `x` (rows of `stride` entries, row r
// at position r % seq), pair (i, i + half) of a head by the angle of table row `pos`, column i:
// x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin. sign = −1 applies the inverse rotation (the
// backward pass: the transpose of a rotation is the rotation by minus the angle).
extern "C" __global__ void __launch_bounds__(THREADS) rotary(
	bf16* __restrict__ x, const float* __restrict__ cos_t, const float* __restrict__ sin_t,
	i64 rows, int stride, int seq, int heads, int head_dim, float sign)
{
	const int half = head_dim / 2;
	const i64 per_row = (i64)heads * half;
	const i64 total = rows * per_row;
	for (i64 e = blockIdx.x * (i64)THREADS + threadIdx.x; e < total; e += (i64)gridDim.x * THREADS) {
		const i64 r = e / per_row;
		const int rem = (int)(e - r * per_row);
		const int h = rem / half;
		const int i = rem - h * half;
		const int pos = (int)(r % seq);
		const float c = cos_t[(i64)pos * head_dim + i];
		const float sn = sign * sin_t[(i64)pos * head_dim + i];
		const i64 a = r * stride + (i64)h * head_dim + i;
		const float x1 = load(x, a), x2 = load(x, a + half);
		x[a] = round_bf16(x1 * c - x2 * sn);
		x[a + half] = round_bf16(x2 * c + x1 * sn);
	}
}

// g = silu(a) · b for ab = [a | b], rows of 2·f entries.
extern "C" __global__ void __launch_bounds__(THREADS) swiglu_forward(
	const bf16* __restrict__ ab, bf16* __restrict__ g, i64 rows, int f)
{
	const i64 total = rows * f;
	for (i64 e = blockIdx.x * (i64)THREADS + threadIdx.x; e < total; e += (i64)gridDim.x * THREADS) {
		const i64 r = e / f;
		const i64 c = e - r * f;
		const float a = load(ab, r * 2 * f + c), b = load(ab, r * 2 * f + f + c);
		const float sig = 1.0f / (1.0f + expf(-a));
		g[e] = round_bf16(a * sig * b);
	}
}

// dab = [dg · b · silu'(a) | dg · silu(a)], silu'(a) = σ(a)·(1 + a·(1 − σ(a))).
extern "C" __global__ void __launch_bounds__(THREADS) swiglu_backward(
	const bf16* __restrict__ dg, const bf16* __restrict__ ab, bf16* __restrict__ dab, i64 rows,
	int f)
{
	const i64 total = rows * f;
	for (i64 e = blockIdx.x * (i64)THREADS + threadIdx.x; e < total; e += (i64)gridDim.x * THREADS) {
		const i64 r = e / f;
		const i64 c = e - r * f;
		const i64 ia = r * 2 * f + c;
		const float a = load(ab, ia), b = load(ab, ia + f), d = load(dg, e);
		const float sig = 1.0f / (1.0f + expf(-a));
		dab[ia] = round_bf16(d * b * sig * (1.0f + a * (1.0f - sig)));
		dab[ia + f] = round_bf16(d * a * sig);
	}
}

// One row of logits per block iteration: loss[r] = logsumexp(row) − row[target], and the row is
// overwritten with its gradient scale · (softmax(row) − onehot(target)).
extern "C" __global__ void __launch_bounds__(THREADS) cross_entropy(
	bf16* __restrict__ logits, const i64* __restrict__ targets, float* __restrict__ loss, int rows,
	int vocab, float scale)
{
	__shared__ float sm[WARPS], ss[WARPS];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		bf16* row = logits + (i64)r * vocab;
		// Online max and sum of exponentials, per thread, then across the block.
		float m = NEG_INF, s = 0.0f;
		for (int c = threadIdx.x; c < vocab; c += THREADS) {
			const float v = load(row, c);
			if (v > m) {
				s = s * expf(m - v) + 1.0f;
				m = v;
			} else {
				s += expf(v - m);
			}
		}
		#pragma unroll
		for (int o = 16; o > 0; o >>= 1) {
			const float m2 = __shfl_xor_sync(FULL, m, o), s2 = __shfl_xor_sync(FULL, s, o);
			const float mm = fmaxf(m, m2);
			s = (m == NEG_INF ? 0.0f : s * expf(m - mm)) + (m2 == NEG_INF ? 0.0f : s2 * expf(m2 - mm));
			m = mm;
		}
		__syncthreads();
		if ((threadIdx.x & 31) == 0) {
			sm[threadIdx.x >> 5] = m;
			ss[threadIdx.x >> 5] = s;
		}
		__syncthreads();
		float mx = NEG_INF;
		#pragma unroll
		for (int i = 0; i < WARPS; i++) mx = fmaxf(mx, sm[i]);
		float total = 0.0f;
		#pragma unroll
		for (int i = 0; i < WARPS; i++) total += ss[i] == 0.0f ? 0.0f : ss[i] * expf(sm[i] - mx);
		const float lse = mx + logf(total);
		// A target outside the vocabulary gives a NaN loss (the caller checks) and no one-hot.
		const i64 t = targets[r];
		const bool valid = t >= 0 && t < vocab;
		if (threadIdx.x == 0) loss[r] = valid ? lse - load(row, t) : __int_as_float(0x7fc00000);
		__syncthreads(); // the target's logit is read before it is overwritten
		for (int c = threadIdx.x; c < vocab; c += THREADS) {
			const float p = expf(load(row, c) - lse);
			row[c] = round_bf16(scale * (p - (c == t ? 1.0f : 0.0f)));
		}
	}
}
