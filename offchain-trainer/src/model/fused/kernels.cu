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

// Eight bf16 (one 16-byte load) to f32 and back. Every width here is a multiple of 8 and every
// row starts 16-byte aligned (checked by the caller), so rows are read and written in uint4s.
__device__ __forceinline__ void unpack8(uint4 v, float* f) {
	const u32 w[4] = {v.x, v.y, v.z, v.w};
	#pragma unroll
	for (int k = 0; k < 4; k++) {
		f[2 * k] = __uint_as_float(w[k] << 16);
		f[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
	}
}

__device__ __forceinline__ uint4 pack8(const float* f) {
	u32 w[4];
	#pragma unroll
	for (int k = 0; k < 4; k++) w[k] = (u32)round_bf16(f[2 * k]) | ((u32)round_bf16(f[2 * k + 1]) << 16);
	return make_uint4(w[0], w[1], w[2], w[3]);
}

// y = x · rstd · g with rstd = 1/sqrt(mean(x²) + eps), one warp per row (a row is a few KB: a
// block per row would spend its time in barriers); rstd (f32) is kept for the backward pass.
extern "C" __global__ void __launch_bounds__(THREADS) rms_norm_forward(
	const bf16* __restrict__ x, const float* __restrict__ g, bf16* __restrict__ y,
	float* __restrict__ rstd, int rows, int d, float eps)
{
	const int lane = threadIdx.x & 31;
	const int vecs = d / 8;
	for (int r = blockIdx.x * WARPS + (threadIdx.x >> 5); r < rows; r += gridDim.x * WARPS) {
		const uint4* xr = (const uint4*)(x + (i64)r * d);
		float acc = 0.0f;
		for (int v = lane; v < vecs; v += 32) {
			float f[8];
			unpack8(xr[v], f);
			#pragma unroll
			for (int k = 0; k < 8; k++) acc += f[k] * f[k];
		}
		const float rs = rsqrtf(warp_sum(acc) / (float)d + eps);
		uint4* yr = (uint4*)(y + (i64)r * d);
		for (int v = lane; v < vecs; v += 32) {
			float f[8];
			unpack8(xr[v], f); // a second read of the row, from L1
			#pragma unroll
			for (int k = 0; k < 8; k++) f[k] = f[k] * rs * g[8 * v + k];
			yr[v] = pack8(f);
		}
		if (lane == 0) rstd[r] = rs;
	}
}

// out[c] = Σ_r partial[r][c] over `rows` rows of `d` columns: the norm gain's gradient from
// rms_norm_backward's per-block sums. A block covers 32 columns with 8 row slices; each slice
// sums its rows in order and the block adds the slices in order, so the result does not depend
// on timing. (libtorch's column sum of the same (512, d) matrix took ~20 µs, a quarter of a
// norm's backward: few outputs for its reduction layout.)
#define COL_SLICES (THREADS / 32)
extern "C" __global__ void __launch_bounds__(THREADS) column_sum(
	const float* __restrict__ partial, int rows, int d, float* __restrict__ out)
{
	__shared__ float s[COL_SLICES][32];
	const int lane = threadIdx.x & 31, slice = threadIdx.x >> 5;
	const int c = blockIdx.x * 32 + lane;
	float acc = 0.0f;
	if (c < d)
		for (int r = slice; r < rows; r += COL_SLICES) acc += partial[(i64)r * d + c];
	s[slice][lane] = acc;
	__syncthreads();
	if (slice == 0 && c < d) {
		float t = 0.0f;
		#pragma unroll
		for (int k = 0; k < COL_SLICES; k++) t += s[k][lane];
		out[c] = t;
	}
}

// With n = x · rstd and dn = dy · g: dx = rstd · (dn − n · mean(dn · n)) (+ residual, the
// gradient arriving through the skip connection), and dg = Σ_rows dy · n. One warp per row; each
// lane keeps dg for the columns it owns (d ≤ 32 · 8 · MAX_VECS), the block adds its warps' in a
// fixed order and writes dg_partial[blockIdx.x][d], summed by the caller: the result does not
// depend on timing.
#define MAX_VECS 8
extern "C" __global__ void __launch_bounds__(THREADS) rms_norm_backward(
	const bf16* __restrict__ dy, const bf16* __restrict__ x, const float* __restrict__ rstd,
	const float* __restrict__ g, const bf16* __restrict__ residual, bf16* __restrict__ dx,
	float* __restrict__ dg_partial, int rows, int d)
{
	__shared__ float s[32 * 8 * MAX_VECS];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int vecs = d / 8;
	float dg[MAX_VECS][8];
	#pragma unroll
	for (int j = 0; j < MAX_VECS; j++)
		#pragma unroll
		for (int k = 0; k < 8; k++) dg[j][k] = 0.0f;
	for (int r = blockIdx.x * WARPS + warp; r < rows; r += gridDim.x * WARPS) {
		const i64 base = (i64)r * d;
		const uint4* xr = (const uint4*)(x + base);
		const uint4* dyr = (const uint4*)(dy + base);
		const float rs = rstd[r];
		float acc = 0.0f;
		#pragma unroll
		for (int j = 0; j < MAX_VECS; j++) {
			const int v = lane + 32 * j;
			if (v < vecs) {
				float fx[8], fd[8];
				unpack8(xr[v], fx);
				unpack8(dyr[v], fd);
				#pragma unroll
				for (int k = 0; k < 8; k++) {
					const float n = fx[k] * rs;
					acc += fd[k] * g[8 * v + k] * n;
					dg[j][k] += fd[k] * n;
				}
			}
		}
		const float mean = warp_sum(acc) / (float)d;
		uint4* dxr = (uint4*)(dx + base);
		const uint4* rr = residual ? (const uint4*)(residual + base) : 0;
		#pragma unroll
		for (int j = 0; j < MAX_VECS; j++) {
			const int v = lane + 32 * j;
			if (v < vecs) {
				float fx[8], fd[8], fr[8];
				unpack8(xr[v], fx);
				unpack8(dyr[v], fd);
				if (rr) unpack8(rr[v], fr);
				#pragma unroll
				for (int k = 0; k < 8; k++) {
					const float n = fx[k] * rs;
					fd[k] = rs * (fd[k] * g[8 * v + k] - n * mean) + (rr ? fr[k] : 0.0f);
				}
				dxr[v] = pack8(fd);
			}
		}
	}
	for (int w = 0; w < WARPS; w++) {
		if (warp == w) {
			#pragma unroll
			for (int j = 0; j < MAX_VECS; j++) {
				const int v = lane + 32 * j;
				if (v < vecs)
					#pragma unroll
					for (int k = 0; k < 8; k++) s[8 * v + k] = (w == 0 ? 0.0f : s[8 * v + k]) + dg[j][k];
			}
		}
		__syncthreads();
	}
	for (int c = threadIdx.x; c < d; c += THREADS) dg_partial[(i64)blockIdx.x * d + c] = s[c];
}

// Rotates, in place, the first `heads` heads of row blockIdx.x of `x` (rows of `stride` entries,
// row r at position r % seq), pair (i, i + half) of a head by the angle of table row `pos`,
// column i: x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin. sign = −1 applies the inverse rotation
// (the backward pass: the transpose of a rotation is the rotation by minus the angle). Two
// neighbouring pairs per thread (head_dim is a multiple of 4).
extern "C" __global__ void __launch_bounds__(THREADS) rotary(
	bf16* __restrict__ x, const float* __restrict__ cos_t, const float* __restrict__ sin_t,
	int stride, int seq, int heads, int head_dim, float sign)
{
	const int half = head_dim / 2, pairs2 = half / 2;
	const i64 r = blockIdx.x;
	const float* cr = cos_t + (i64)(r % seq) * head_dim;
	const float* sr = sin_t + (i64)(r % seq) * head_dim;
	bf16* row = x + r * stride;
	for (int e = threadIdx.x; e < heads * pairs2; e += THREADS) {
		const int h = e / pairs2;
		const int i = 2 * (e - h * pairs2);
		u32* p1 = (u32*)(row + h * head_dim + i);
		u32* p2 = (u32*)(row + h * head_dim + i + half);
		const u32 w1 = *p1, w2 = *p2;
		const float a0 = __uint_as_float(w1 << 16), a1 = __uint_as_float(w1 & 0xffff0000u);
		const float b0 = __uint_as_float(w2 << 16), b1 = __uint_as_float(w2 & 0xffff0000u);
		const float c0 = cr[i], c1 = cr[i + 1], s0 = sign * sr[i], s1 = sign * sr[i + 1];
		*p1 = (u32)round_bf16(a0 * c0 - b0 * s0) | ((u32)round_bf16(a1 * c1 - b1 * s1) << 16);
		*p2 = (u32)round_bf16(b0 * c0 + a0 * s0) | ((u32)round_bf16(b1 * c1 + a1 * s1) << 16);
	}
}

// g = silu(a) · b for ab = [a | b], row blockIdx.x of 2·f entries (f a multiple of 8).
extern "C" __global__ void __launch_bounds__(THREADS) swiglu_forward(
	const bf16* __restrict__ ab, bf16* __restrict__ g, int f)
{
	const i64 r = blockIdx.x;
	const uint4* a = (const uint4*)(ab + r * 2 * f);
	const uint4* b = (const uint4*)(ab + r * 2 * f + f);
	uint4* out = (uint4*)(g + r * f);
	for (int v = threadIdx.x; v < f / 8; v += THREADS) {
		float fa[8], fb[8];
		unpack8(a[v], fa);
		unpack8(b[v], fb);
		#pragma unroll
		for (int k = 0; k < 8; k++) fa[k] = fa[k] / (1.0f + __expf(-fa[k])) * fb[k];
		out[v] = pack8(fa);
	}
}

// dab = [dg · b · silu'(a) | dg · silu(a)], silu'(a) = σ(a)·(1 + a·(1 − σ(a))).
extern "C" __global__ void __launch_bounds__(THREADS) swiglu_backward(
	const bf16* __restrict__ dg, const bf16* __restrict__ ab, bf16* __restrict__ dab, int f)
{
	const i64 r = blockIdx.x;
	const uint4* a = (const uint4*)(ab + r * 2 * f);
	const uint4* b = (const uint4*)(ab + r * 2 * f + f);
	const uint4* d = (const uint4*)(dg + r * f);
	uint4* da = (uint4*)(dab + r * 2 * f);
	uint4* db = (uint4*)(dab + r * 2 * f + f);
	for (int v = threadIdx.x; v < f / 8; v += THREADS) {
		float fa[8], fb[8], fd[8], oa[8], ob[8];
		unpack8(a[v], fa);
		unpack8(b[v], fb);
		unpack8(d[v], fd);
		#pragma unroll
		for (int k = 0; k < 8; k++) {
			const float sig = 1.0f / (1.0f + __expf(-fa[k]));
			oa[k] = fd[k] * fb[k] * sig * (1.0f + fa[k] * (1.0f - sig));
			ob[k] = fd[k] * fa[k] * sig;
		}
		da[v] = pack8(oa);
		db[v] = pack8(ob);
	}
}

// One row of logits per block iteration (vocab a multiple of 8): loss[r] = logsumexp(row) −
// row[target], and the row is overwritten with its gradient scale · (softmax(row) − onehot)
// unless scale is 0.
// Exponentials use the hardware approximation (__expf, ~2 ulp): the gradient is rounded to bf16.
extern "C" __global__ void __launch_bounds__(THREADS) cross_entropy(
	bf16* __restrict__ logits, const i64* __restrict__ targets, float* __restrict__ loss, int rows,
	int vocab, float scale)
{
	__shared__ float sm[WARPS], ss[WARPS];
	const int vecs = vocab / 8;
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		bf16* row = logits + (i64)r * vocab;
		uint4* rv = (uint4*)row;
		// Online max and sum of exponentials, per thread (eight logits at a time), then across
		// the block.
		float m = NEG_INF, s = 0.0f;
		for (int v = threadIdx.x; v < vecs; v += THREADS) {
			float f[8];
			unpack8(rv[v], f);
			float m8 = f[0];
			#pragma unroll
			for (int k = 1; k < 8; k++) m8 = fmaxf(m8, f[k]);
			if (m8 > m) {
				s = m == NEG_INF ? 0.0f : s * __expf(m - m8);
				m = m8;
			}
			#pragma unroll
			for (int k = 0; k < 8; k++) s += __expf(f[k] - m);
		}
		#pragma unroll
		for (int o = 16; o > 0; o >>= 1) {
			const float m2 = __shfl_xor_sync(FULL, m, o), s2 = __shfl_xor_sync(FULL, s, o);
			const float mm = fmaxf(m, m2);
			s = (m == NEG_INF ? 0.0f : s * __expf(m - mm)) + (m2 == NEG_INF ? 0.0f : s2 * __expf(m2 - mm));
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
		for (int i = 0; i < WARPS; i++) total += ss[i] == 0.0f ? 0.0f : ss[i] * __expf(sm[i] - mx);
		const float lse = mx + logf(total);
		// A target outside the vocabulary gives a NaN loss (the caller checks) and no one-hot.
		const i64 t = targets[r];
		const bool valid = t >= 0 && t < vocab;
		if (threadIdx.x == 0) loss[r] = valid ? lse - load(row, t) : __int_as_float(0x7fc00000);
		if (scale == 0.0f) continue; // loss only (evaluation): the row stays as it is
		__syncthreads(); // the target's logit is read before it is overwritten
		for (int v = threadIdx.x; v < vecs; v += THREADS) {
			float f[8];
			unpack8(rv[v], f);
			#pragma unroll
			for (int k = 0; k < 8; k++) f[k] = scale * (__expf(f[k] - lse) - (8 * v + k == t ? 1.0f : 0.0f));
			rv[v] = pack8(f);
		}
	}
}
