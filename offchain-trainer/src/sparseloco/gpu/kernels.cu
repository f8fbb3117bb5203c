// SparseLoCo codec kernels: one error-feedback round and the aggregation of many peers, over every
// tensor of a model in a handful of launches (see `gpu/mod.rs` for the pipeline).
//
// Built at run time by NVRTC with --fmad=false, so no multiply and add is contracted into a fused
// multiply-add: every f32 operation then rounds as the CPU codec's Rust code does and both produce
// the same payload bytes. Reductions accumulate in f64 in a fixed order (deterministic across runs).

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define THREADS 256
#define PER_THREAD 16 // THREADS * PER_THREAD = 4096, the largest chunk
#define WARPS (THREADS / 32)
#define FULL 0xffffffffu
#define MAX_PEERS 64

// Bits of the error flag.
#define ERR_NON_FINITE_VALUE 1u
#define ERR_NON_FINITE_STATS 2u

// One tensor, as `layout.rs` writes it (all u64, so the Rust side is a plain `[u64; 15]`).
struct TensorDesc {
	u64 data;          // f32 row-major: the error-feedback buffer, the tensor to compress, or the
	                   // aggregate's output
	u64 delta;         // f32 row-major pseudo-gradient (error-feedback rounds only)
	u64 cols;          // columns of the (rows, cols) view
	u64 tile_rows;
	u64 tile_cols;
	u64 tiles_per_row;
	u64 chunk_len;     // tile_rows * tile_cols, at most 4096
	u64 k;             // kept entries per chunk
	u64 bins;
	u64 first_chunk;   // global index of the tensor's first chunk
	u64 num_chunks;
	u64 first_entry;   // global index of the tensor's first kept entry
	u64 shift_offset;  // payload byte offset of the f32 shift (the f32 LUT follows)
	u64 codes_offset;  // payload byte offset of the packed 2-bit codes
	u64 index_offset;  // payload byte offset of the packed 12-bit indices
};

__device__ __forceinline__ u64 chunk_base(const TensorDesc& d, u64 lc) {
	const u64 ty = lc / d.tiles_per_row;
	const u64 tx = lc - ty * d.tiles_per_row;
	return ty * d.tile_rows * d.cols + tx * d.tile_cols;
}

__device__ __forceinline__ u64 entry_pos(const TensorDesc& d, u64 base, u32 i) {
	const u32 tc = (u32)d.tile_cols;
	const u32 r = i / tc;
	return base + (u64)r * d.cols + (i - r * tc);
}

__device__ __forceinline__ float read_f32(const u8* p) {
	const u32 bits = (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24);
	return __uint_as_float(bits);
}

__device__ __forceinline__ void write_f32(u8* p, float x) {
	const u32 bits = __float_as_uint(x);
	p[0] = (u8)bits;
	p[1] = (u8)(bits >> 8);
	p[2] = (u8)(bits >> 16);
	p[3] = (u8)(bits >> 24);
}

// Entry `s` of a tensor's packed 12-bit index stream (layout in `packing.rs`).
__device__ __forceinline__ u32 unpack_index(const u8* idx, u64 s) {
	const u8* t = idx + 3 * (s >> 1);
	if ((s & 1) == 0) return (u32)t[0] | (((u32)t[1] & 0x0f) << 8);
	return ((u32)t[1] >> 4) | ((u32)t[2] << 4);
}

__device__ __forceinline__ u32 unpack_code(const u8* codes, u64 s) {
	return ((u32)codes[s >> 2] >> (2 * (u32)(s & 3))) & 3u;
}

__device__ __forceinline__ double warp_sum(double x) {
	#pragma unroll
	for (int o = 16; o > 0; o >>= 1) x = __dadd_rn(x, __shfl_xor_sync(FULL, x, o));
	return x;
}

__device__ __forceinline__ u32 warp_sum_u32(u32 x) {
	return __reduce_add_sync(FULL, x);
}

// The largest t with at least q of the warp's values m ≥ t (1 ≤ q ≤ 32), given the warp's
// minimum lo and maximum hi: t lies in [lo, hi], so the bits above the highest bit where lo and
// hi differ are fixed and the bitwise search starts below it.
__device__ __forceinline__ u32 highest_count_at_least(u32 m, u32 q, u32 lo, u32 hi) {
	if (lo == hi) return lo;
	const int top = 31 - __clz(lo ^ hi);
	u32 t = lo & ~((2u << top) - 1u);
	#pragma unroll 1
	for (int b = top; b >= 0; b--) {
		const u32 c = t | (1u << b);
		if ((u32)__popc(__ballot_sync(FULL, m >= c)) >= q) t = c;
	}
	return t;
}

// ---------------------------------------------------------------------------------------------
// Error-feedback update and per-chunk top-k: one block per chunk.
//
// Thread `tid` holds the chunk-local entries tid + 256·j (j < 16), so a warp reads 32 consecutive
// floats of a tile row. Keys are |x|'s bit pattern plus one (0 marks "no entry"): for finite
// floats the bits order like the magnitudes, so the k-th largest key is found by a bitwise search
// on counts. Kept: every key above it, and the lowest-index entries equal to it (the CPU codec's
// tie rule), written in ascending index order.
// At most 64 registers a thread (4 blocks of 256 per SM): the loads of one block overlap the
// search of others.
extern "C" __global__ void __launch_bounds__(THREADS, 4) ef_select(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor, float beta,
	int update_ef, u16* __restrict__ out_idx, float* __restrict__ out_val,
	double* __restrict__ chunk_sum, u32* __restrict__ error_flag)
{
	__shared__ u32 s_warp_bound[WARPS];
	__shared__ u32 s_count;
	__shared__ u32 s_threshold;
	__shared__ u32 s_total;
	__shared__ u32 s_red[2][WARPS];
	__shared__ u32 s_scan[PER_THREAD * WARPS];
	__shared__ double s_dsum[WARPS];
	__shared__ u32 s_cand[THREADS * PER_THREAD];

	const u32 tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const u64 chunk = blockIdx.x;
	const TensorDesc d = descs[chunk_tensor[chunk]];
	const u64 lc = chunk - d.first_chunk;
	const u32 len = (u32)d.chunk_len, k = (u32)d.k;
	const u64 base = chunk_base(d, lc);
	float* data = (float*)d.data;
	const float* delta = (const float*)d.delta;

	// Addresses. When the tile width divides 256 (64-wide tiles, 1-D chunks of 64...), entry
	// tid + 256·j sits `j · 256/tc` rows below entry tid: one division per thread.
	const u32 tc = (u32)d.tile_cols;
	const bool regular = (THREADS % tc) == 0;
	const u32 r0 = tid / tc;
	const u64 p0 = base + (u64)r0 * d.cols + (tid - r0 * tc);
	const u64 pstride = (u64)(THREADS / tc) * d.cols;
#define POS(j) (regular ? p0 + (u64)(j) * pstride : entry_pos(d, base, tid + THREADS * (j)))

	// Load everything first (all loads in flight), then update and store.
	float v[PER_THREAD], dv[PER_THREAD];
	#pragma unroll
	for (int j = 0; j < PER_THREAD; j++) {
		const bool in = tid + THREADS * j < len;
		v[j] = in ? data[POS(j)] : 0.0f;
		dv[j] = (in && update_ef) ? __ldcs(delta + POS(j)) : 0.0f;
	}
	bool finite = true;
	#pragma unroll
	for (int j = 0; j < PER_THREAD; j++) {
		const bool in = tid + THREADS * j < len;
		if (update_ef) {
			v[j] = __fadd_rn(__fmul_rn(beta, v[j]), dv[j]);
			if (in) data[POS(j)] = v[j];
		}
		finite = finite && (!in || (__float_as_uint(v[j]) & 0x7fffffffu) < 0x7f800000u);
	}
	// Keys are recomputed from the values where needed rather than held: 16 fewer registers,
	// hence more resident blocks to overlap one block's loads with another's search.
#define KEY(j) (tid + THREADS * (j) < len ? (__float_as_uint(v[j]) & 0x7fffffffu) + 1u : 0u)
	if (!finite) atomicOr(error_flag, ERR_NON_FINITE_VALUE);

	u32 threshold;
	if (k >= len) {
		threshold = 1u; // every entry is kept
	} else {
		// A lower bound on the k-th largest key: warp w's q-th largest lane maximum, q = ⌈k/8⌉.
		// The smallest of the eight has at least 8q ≥ k keys at or above it.
		u32 bound = 1u;
		if (k <= 32 * WARPS) {
			u32 m = 0;
			#pragma unroll
			for (int j = 0; j < PER_THREAD; j++) m = max(m, KEY(j));
			const u32 q = (k + WARPS - 1) / WARPS;
			u32 t = highest_count_at_least(m, q, __reduce_min_sync(FULL, m), __reduce_max_sync(FULL, m));
			if (lane == 0) s_warp_bound[warp] = t;
		}
		if (tid == 0) s_count = 0;
		__syncthreads();
		if (k <= 32 * WARPS) {
			bound = s_warp_bound[0];
			#pragma unroll
			for (int w = 1; w < WARPS; w++) bound = min(bound, s_warp_bound[w]);
			bound = max(bound, 1u);
		}
		// Candidates (order does not matter for the threshold).
		#pragma unroll
		for (int j = 0; j < PER_THREAD; j++) {
			const u32 kj = KEY(j);
			if (kj >= bound) s_cand[atomicAdd(&s_count, 1u)] = kj;
		}
		__syncthreads();
		const u32 count = s_count;
		if (count <= 32 * 8) {
			// Usual case (about 70-150 candidates for Gaussian-like data): one warp, no barriers.
			if (warp == 0) {
				u32 c[8];
				u32 lo = 0xffffffffu, hi = 0u;
				#pragma unroll
				for (int m = 0; m < 8; m++) {
					const u32 at = lane + 32 * m;
					c[m] = at < count ? s_cand[at] : 0u;
					if (at < count) {
						lo = min(lo, c[m]);
						hi = max(hi, c[m]);
					}
				}
				lo = __reduce_min_sync(FULL, lo);
				hi = __reduce_max_sync(FULL, hi);
				// The k-th largest candidate lies in [lo, hi]: its bits above the highest bit
				// where lo and hi differ are theirs, so the search starts below it.
				u32 t = lo;
				if (lo != hi) {
					const int top = 31 - __clz(lo ^ hi);
					t = lo & ~((2u << top) - 1u);
					#pragma unroll 1
					for (int b = top; b >= 0; b--) {
						const u32 cand = t | (1u << b);
						u32 n = 0;
						#pragma unroll
						for (int m = 0; m < 8; m++) n += c[m] >= cand ? 1u : 0u;
						if (warp_sum_u32(n) >= k) t = cand;
					}
				}
				if (lane == 0) s_threshold = t;
			}
		} else {
			// Many ties or flat data: the whole block searches.
			u32 c[PER_THREAD];
			#pragma unroll
			for (int m = 0; m < PER_THREAD; m++) {
				const u32 at = tid + THREADS * m;
				c[m] = at < count ? s_cand[at] : 0u;
			}
			u32 t = 0;
			#pragma unroll 1
			for (int b = 31; b >= 0; b--) {
				const u32 cand = t | (1u << b);
				u32 n = 0;
				#pragma unroll
				for (int m = 0; m < PER_THREAD; m++) n += c[m] >= cand ? 1u : 0u;
				n = warp_sum_u32(n);
				if (lane == 0) s_red[b & 1][warp] = n;
				__syncthreads();
				u32 total = 0;
				#pragma unroll
				for (int w = 0; w < WARPS; w++) total += s_red[b & 1][w];
				if (total >= k) t = cand;
			}
			if (tid == 0) s_threshold = t;
		}
		__syncthreads();
		threshold = s_threshold;
	}

	// Ordered compaction. Index order is (j, warp, lane); per (j, warp) count the keys above
	// and equal to the threshold (packed in one word, each count ≤ 4096), scan in that order.
	#pragma unroll
	for (int j = 0; j < PER_THREAD; j++) {
		const u32 kj = KEY(j);
		const u32 gt = __ballot_sync(FULL, kj > threshold);
		const u32 eq = __ballot_sync(FULL, kj == threshold);
		if (lane == 0) s_scan[j * WARPS + warp] = (u32)__popc(gt) | ((u32)__popc(eq) << 16);
	}
	__syncthreads();
	if (warp == 0) {
		u32 a[4];
		u32 sum = 0;
		#pragma unroll
		for (int m = 0; m < 4; m++) {
			a[m] = s_scan[lane * 4 + m];
			sum += a[m];
		}
		u32 incl = sum;
		#pragma unroll
		for (int o = 1; o < 32; o <<= 1) {
			const u32 y = __shfl_up_sync(FULL, incl, o);
			if (lane >= (u32)o) incl += y;
		}
		u32 run = incl - sum;
		#pragma unroll
		for (int m = 0; m < 4; m++) {
			const u32 x = a[m];
			s_scan[lane * 4 + m] = run;
			run += x;
		}
		if (lane == 31) s_total = incl;
	}
	__syncthreads();
	const u32 need_eq = k - (s_total & 0xffffu);
	const u64 out = d.first_entry + lc * k;
	const u32 below = (1u << lane) - 1u;
	double part = 0.0;
	#pragma unroll
	for (int j = 0; j < PER_THREAD; j++) {
		const u32 kj = KEY(j);
		const u32 gt = __ballot_sync(FULL, kj > threshold);
		const u32 eq = __ballot_sync(FULL, kj == threshold);
		const u32 pre = s_scan[j * WARPS + warp];
		const u32 gt_before = (pre & 0xffffu) + (u32)__popc(gt & below);
		const u32 eq_before = (pre >> 16) + (u32)__popc(eq & below);
		bool keep = false;
		u32 slot = 0;
		if (kj > threshold) {
			keep = true;
			slot = gt_before + min(eq_before, need_eq);
		} else if (kj == threshold && eq_before < need_eq) {
			keep = true;
			slot = gt_before + eq_before;
		}
		if (keep) {
			out_idx[out + slot] = (u16)(tid + THREADS * j);
			out_val[out + slot] = v[j];
			part = __dadd_rn(part, (double)v[j]);
		}
	}
	part = warp_sum(part);
	if (lane == 0) s_dsum[warp] = part;
	__syncthreads();
	if (tid == 0) {
		double s = 0.0;
		#pragma unroll
		for (int w = 0; w < WARPS; w++) s = __dadd_rn(s, s_dsum[w]);
		chunk_sum[chunk] = s;
	}
}

// ---------------------------------------------------------------------------------------------
// Per-chunk passes over the kept entries: one warp per chunk, eight chunks per block.

#define CHUNK_PROLOGUE                                                                           \
	const u32 lane = threadIdx.x & 31;                                                           \
	const u64 chunk = (u64)blockIdx.x * WARPS + (threadIdx.x >> 5);                              \
	if (chunk >= n_chunks) return;                                                               \
	const u32 t = chunk_tensor[chunk];                                                           \
	const TensorDesc d = descs[t];                                                               \
	const u64 lc = chunk - d.first_chunk;                                                        \
	const u32 k = (u32)d.k;                                                                      \
	const u64 e0 = d.first_entry + lc * k;

// Σ (v − shift)² of the chunk's kept values, the centred value rounded to f32 first as the CPU
// quantizer does.
extern "C" __global__ void __launch_bounds__(THREADS) chunk_centred_sq(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor, u64 n_chunks,
	const float* __restrict__ val, const float* __restrict__ shift, double* __restrict__ chunk_sq)
{
	CHUNK_PROLOGUE
	const float s = shift[t];
	double acc = 0.0;
	for (u32 j = lane; j < k; j += 32) {
		const double c = (double)__fsub_rn(val[e0 + j], s);
		acc = __dadd_rn(acc, __dmul_rn(c, c));
	}
	acc = warp_sum(acc);
	if (lane == 0) chunk_sq[chunk] = acc;
}

// 2-bit codes `clamp(round_half_even((v − shift)/scale + bins/2), 0, bins−1)` and the chunk's
// per-bin sums of the centred values and counts.
extern "C" __global__ void __launch_bounds__(THREADS) chunk_codes(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor, u64 n_chunks,
	const float* __restrict__ val, const float* __restrict__ shift, const float* __restrict__ scale,
	u8* __restrict__ code, double* __restrict__ chunk_bins, u32* __restrict__ chunk_counts)
{
	CHUNK_PROLOGUE
	const float s = shift[t], sc = scale[t];
	const float offset = (float)(d.bins / 2), top = (float)(d.bins - 1);
	double sum[4] = {0.0, 0.0, 0.0, 0.0};
	u32 cnt[4] = {0, 0, 0, 0};
	for (u32 j = lane; j < k; j += 32) {
		const float c = __fsub_rn(val[e0 + j], s);
		float q = rintf(__fadd_rn(__fdiv_rn(c, sc), offset));
		q = fminf(fmaxf(q, 0.0f), top);
		const u32 b = (u32)q;
		code[e0 + j] = (u8)b;
		#pragma unroll
		for (int m = 0; m < 4; m++) {
			if (b == (u32)m) {
				sum[m] = __dadd_rn(sum[m], (double)c);
				cnt[m] += 1;
			}
		}
	}
	#pragma unroll
	for (int m = 0; m < 4; m++) {
		const double s4 = warp_sum(sum[m]);
		const u32 c4 = warp_sum_u32(cnt[m]);
		if (lane == 0) {
			chunk_bins[chunk * 4 + m] = s4;
			chunk_counts[chunk * 4 + m] = c4;
		}
	}
}

// Writes the chunk's codes and indices into the payload. The byte holding codes 4i..4i+3 (and
// the three bytes holding indices 2i, 2i+1) of a tensor's stream are written by the chunk that
// owns entry 4i (2i), so chunk boundaries inside a byte are handled for any k.
extern "C" __global__ void __launch_bounds__(THREADS) chunk_pack(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor, u64 n_chunks,
	const u16* __restrict__ idx, const u8* __restrict__ code, u8* __restrict__ payload)
{
	CHUNK_PROLOGUE
	(void)e0;
	const u64 n = d.num_chunks * k;
	const u64 s0 = lc * k;
	u8* codes = payload + d.codes_offset;
	u8* index = payload + d.index_offset;
	for (u32 j = lane; j < k; j += 32) {
		const u64 s = s0 + j;
		if ((s & 3) == 0) {
			u32 byte = 0;
			#pragma unroll
			for (u32 m = 0; m < 4; m++)
				if (s + m < n) byte |= ((u32)code[d.first_entry + s + m] & 3u) << (2 * m);
			codes[s >> 2] = (u8)byte;
		}
		if ((s & 1) == 0 && k < d.chunk_len) { // whole chunks: indices implied, none on the wire
			const u32 a = idx[d.first_entry + s];
			u8* o = index + 3 * (s >> 1);
			if (s + 1 < n) {
				const u32 b = idx[d.first_entry + s + 1];
				o[0] = (u8)a;
				o[1] = (u8)(((a >> 8) & 0x0fu) | ((b & 0x0fu) << 4));
				o[2] = (u8)(b >> 4);
			} else {
				o[0] = (u8)a;
				o[1] = (u8)((a >> 8) & 0x0fu);
			}
		}
	}
}

// e ← e − ê at the kept positions, ê = lut[code] + shift (what every receiver reconstructs).
extern "C" __global__ void __launch_bounds__(THREADS) chunk_subtract(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor, u64 n_chunks,
	const u16* __restrict__ idx, const u8* __restrict__ code, const float* __restrict__ shift,
	const float* __restrict__ lut)
{
	CHUNK_PROLOGUE
	float* data = (float*)d.data;
	const u64 base = chunk_base(d, lc);
	const float s = shift[t];
	for (u32 j = lane; j < k; j += 32) {
		const float v = __fadd_rn(lut[t * 4 + code[e0 + j]], s);
		const u64 p = entry_pos(d, base, idx[e0 + j]);
		data[p] = __fadd_rn(data[p], -v);
	}
}

// ---------------------------------------------------------------------------------------------
// Per-tensor statistics: one block per tensor, sums over its chunks in a fixed order.
//   mode 0: shift = mean of the kept values
//   mode 1: scale = range·σ/bins with σ = ‖v − shift‖/√(n−1) (1.0 when 0 or not finite)
//   mode 2: LUT = per-bin mean of the centred values; shift and LUT written into the payload
extern "C" __global__ void __launch_bounds__(THREADS) tensor_stats(
	const TensorDesc* __restrict__ descs, int mode, float range,
	const double* __restrict__ chunk_sum, const double* __restrict__ chunk_sq,
	const double* __restrict__ chunk_bins, const u32* __restrict__ chunk_counts,
	float* __restrict__ shift, float* __restrict__ scale, float* __restrict__ lut,
	u8* __restrict__ payload, u32* __restrict__ error_flag)
{
	__shared__ double s_part[WARPS][4];
	__shared__ unsigned long long s_cnt[WARPS][4];
	const u32 tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const u32 t = blockIdx.x;
	const TensorDesc d = descs[t];
	const u32 lanes = mode == 2 ? 4 : 1;
	double acc[4] = {0.0, 0.0, 0.0, 0.0};
	unsigned long long cnt[4] = {0, 0, 0, 0};
	for (u64 c = tid; c < d.num_chunks; c += THREADS) {
		const u64 g = d.first_chunk + c;
		if (mode == 0) acc[0] = __dadd_rn(acc[0], chunk_sum[g]);
		else if (mode == 1) acc[0] = __dadd_rn(acc[0], chunk_sq[g]);
		else {
			#pragma unroll
			for (int m = 0; m < 4; m++) {
				acc[m] = __dadd_rn(acc[m], chunk_bins[g * 4 + m]);
				cnt[m] += chunk_counts[g * 4 + m];
			}
		}
	}
	for (u32 m = 0; m < lanes; m++) {
		const double s = warp_sum(acc[m]);
		unsigned long long n = cnt[m];
		#pragma unroll
		for (int o = 16; o > 0; o >>= 1) n += __shfl_xor_sync(FULL, n, o);
		if (lane == 0) {
			s_part[warp][m] = s;
			s_cnt[warp][m] = n;
		}
	}
	__syncthreads();
	if (tid != 0) return;
	double total[4] = {0.0, 0.0, 0.0, 0.0};
	unsigned long long count[4] = {0, 0, 0, 0};
	for (u32 m = 0; m < lanes; m++)
		for (int w = 0; w < WARPS; w++) {
			total[m] = __dadd_rn(total[m], s_part[w][m]);
			count[m] += s_cnt[w][m];
		}
	const u64 n = d.num_chunks * d.k;
	if (mode == 0) {
		shift[t] = (float)__ddiv_rn(total[0], (double)n);
	} else if (mode == 1) {
		const float norm = (float)__dsqrt_rn(total[0]);
		const float sigma = __fdiv_rn(norm, (float)__dsqrt_rn(__dsub_rn((double)n, 1.0)));
		float sc = __fdiv_rn(__fmul_rn(range, sigma), (float)d.bins);
		if (sc == 0.0f || !isfinite(sc)) sc = 1.0f;
		scale[t] = sc;
	} else {
		const float s = shift[t];
		bool ok = isfinite(s);
		u8* rec = payload + d.shift_offset;
		write_f32(rec, s);
		for (u32 b = 0; b < 4; b++) {
			const float l =
				count[b] > 0 ? (float)__ddiv_rn(total[b], (double)count[b]) : 0.0f;
			lut[t * 4 + b] = l;
			if (b < d.bins) {
				ok = ok && isfinite(l) && isfinite(__fadd_rn(l, s));
				write_f32(rec + 4 + 4 * b, l);
			}
		}
		if (!ok) atomicOr(error_flag, ERR_NON_FINITE_STATS);
	}
}

// ---------------------------------------------------------------------------------------------
// Aggregation of many peers' payloads (device copies of their wire bytes, same layout).

// ‖ê‖ of one peer's tensor from its code counts: Σ_b n_b·v_b² with v_b = lut_b + shift, as the CPU
// codec computes it (f64, bins in order). Grid: (tensors, peers).
extern "C" __global__ void __launch_bounds__(THREADS) peer_norms(
	const TensorDesc* __restrict__ descs, const u64* __restrict__ peers, u32 n_tensors,
	double* __restrict__ norms)
{
	__shared__ unsigned long long s_cnt[WARPS][4];
	const u32 tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const u32 t = blockIdx.x, p = blockIdx.y;
	const TensorDesc d = descs[t];
	const u8* payload = (const u8*)peers[p];
	const u8* codes = payload + d.codes_offset;
	const u64 n = d.num_chunks * d.k;
	unsigned long long cnt[4] = {0, 0, 0, 0};
	for (u64 byte = tid; byte < (n + 3) / 4; byte += THREADS) {
		const u32 x = codes[byte];
		#pragma unroll
		for (u32 m = 0; m < 4; m++) {
			if (byte * 4 + m < n) {
				const u32 b = (x >> (2 * m)) & 3u;
				#pragma unroll
				for (u32 q = 0; q < 4; q++) cnt[q] += b == q ? 1 : 0;
			}
		}
	}
	#pragma unroll
	for (int q = 0; q < 4; q++) {
		unsigned long long c = cnt[q];
		#pragma unroll
		for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(FULL, c, o);
		if (lane == 0) s_cnt[warp][q] = c;
	}
	__syncthreads();
	if (tid != 0) return;
	const u8* rec = payload + d.shift_offset;
	const float s = read_f32(rec);
	double sum = 0.0;
	for (u32 b = 0; b < d.bins; b++) {
		unsigned long long c = 0;
		for (int w = 0; w < WARPS; w++) c += s_cnt[w][b];
		const double v = (double)__fadd_rn(read_f32(rec + 4 + 4 * b), s);
		sum = __dadd_rn(sum, __dmul_rn(__dmul_rn((double)c, v), v));
	}
	norms[(u64)p * n_tensors + t] = __dsqrt_rn(sum);
}

// Per tensor: the median of the peers' norms (lower middle), each peer's clip factor
// min(1, median/(norm + 1e-8)) and its four weighted bin values factor·(lut_b + shift).
extern "C" __global__ void clip_weights(
	const TensorDesc* __restrict__ descs, const u64* __restrict__ peers, u32 n_tensors,
	u32 n_peers, const double* __restrict__ norms, float* __restrict__ weights)
{
	const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
	if (t >= n_tensors) return;
	const TensorDesc d = descs[t];
	double sorted[MAX_PEERS];
	for (u32 p = 0; p < n_peers; p++) {
		const double x = norms[(u64)p * n_tensors + t];
		u32 at = p;
		while (at > 0 && sorted[at - 1] > x) {
			sorted[at] = sorted[at - 1];
			at--;
		}
		sorted[at] = x;
	}
	const double median = sorted[(n_peers - 1) / 2];
	for (u32 p = 0; p < n_peers; p++) {
		const double r = __ddiv_rn(median, __dadd_rn(norms[(u64)p * n_tensors + t], 1e-8));
		const float factor = (float)fmin(r, 1.0);
		const u8* rec = (const u8*)peers[p] + d.shift_offset;
		const float s = read_f32(rec);
		for (u32 b = 0; b < 4; b++) {
			const float v = b < d.bins ? __fadd_rn(read_f32(rec + 4 + 4 * b), s) : 0.0f;
			weights[((u64)p * n_tensors + t) * 4 + b] = __fmul_rn(factor, v);
		}
	}
}

// The aggregate of every peer's clipped reconstruction, one block per chunk: the tile is built in
// shared memory, peer after peer in order (so the f32 sums round as the CPU aggregator's), then
// written; with `mean` set, each position is divided once by the number of peers that kept it
// (Templar's scatter_reduce mean; exact counts, one correctly rounded division, as the CPU's).
// Peers' entries are first decoded into shared memory for up to STAGE entries at once (all their
// loads in flight together); only the ordered adds sit between barriers.
#define STAGE 4096
extern "C" __global__ void __launch_bounds__(THREADS) scatter_sum(
	const TensorDesc* __restrict__ descs, const u32* __restrict__ chunk_tensor,
	const u64* __restrict__ peers, u32 n_tensors, u32 n_peers, const float* __restrict__ weights,
	u32 mean)
{
	__shared__ float tile[THREADS * PER_THREAD];
	__shared__ u8 count[THREADS * PER_THREAD]; // peers that kept each position (≤ MAX_PEERS)
	__shared__ u16 s_idx[STAGE];
	__shared__ float s_w[STAGE];
	const u32 tid = threadIdx.x;
	const u64 chunk = blockIdx.x;
	const u32 t = chunk_tensor[chunk];
	const TensorDesc d = descs[t];
	const u64 lc = chunk - d.first_chunk;
	const u32 len = (u32)d.chunk_len, k = (u32)d.k;
	const u32 batch = max(1u, STAGE / k); // peers staged at once
	for (u32 i = tid; i < len; i += THREADS) {
		tile[i] = 0.0f;
		count[i] = 0;
	}
	for (u32 p0 = 0; p0 < n_peers; p0 += batch) {
		const u32 np = min(batch, n_peers - p0);
		for (u32 j0 = 0; j0 < k; j0 += STAGE) {
			const u32 nj = min(k - j0, (u32)STAGE); // entries per peer in this stage (k > STAGE)
			for (u32 e = tid; e < np * nj; e += THREADS) {
				const u32 q = e / nj, j = j0 + (e - q * nj);
				const u8* payload = (const u8*)peers[p0 + q];
				const u64 s = lc * k + j;
				s_idx[e] = k == len ? (u16)j : (u16)unpack_index(payload + d.index_offset, s);
				s_w[e] = weights[((u64)(p0 + q) * n_tensors + t) * 4 +
				                 unpack_code(payload + d.codes_offset, s)];
			}
			__syncthreads();
			for (u32 q = 0; q < np; q++) {
				for (u32 e = q * nj + tid; e < (q + 1) * nj; e += THREADS) {
					const u32 i = s_idx[e];
					if (i < len) {
						tile[i] = __fadd_rn(tile[i], s_w[e]);
						count[i]++;
					}
				}
				__syncthreads();
			}
		}
	}
	float* out = (float*)d.data;
	const u64 base = chunk_base(d, lc);
	const u32 tc = (u32)d.tile_cols;
	const bool regular = (THREADS % tc) == 0;
	const u32 r0 = tid / tc;
	const u64 p0 = base + (u64)r0 * d.cols + (tid - r0 * tc);
	const u64 pstride = (u64)(THREADS / tc) * d.cols;
	#pragma unroll
	for (int j = 0; j < PER_THREAD; j++) {
		const u32 i = tid + THREADS * j;
		if (i < len) {
			const float x = tile[i];
			out[POS(j)] = mean && count[i] > 1 ? __fdiv_rn(x, (float)count[i]) : x;
		}
	}
}
