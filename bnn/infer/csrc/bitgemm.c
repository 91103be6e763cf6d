/*
 * bnn.infer._bitgemm -- XOR-popcount GEMM kernels for bit-packed binary layers.
 *
 * Bit layout (see bnn/infer/packing.py): a row of k binary values is stored in kw = ceil(k/64)
 * little-endian uint64 words; value j lives in bit (j % 64) of word (j / 64); bit 1 encodes +1
 * (or 1 for 0/1 data), bit 0 encodes -1 (or 0); padding bits (j >= k) are 0 in every operand, so
 * they never contribute to popcount(a XOR b) and any k (k % 64 != 0 included) is exact.
 *
 * Weights (n rows of kw words) are repacked once into panels of PANEL = 32 output units:
 *   panels[p][w][c] = word w of weight row 32*p + c  (rows n..32*ceil(n/32)-1 are all-zero),
 * so one 64-byte vector load fetches word w of 8 consecutive units and a broadcast input word is
 * XORed against 32 units at once; the 32 per-unit counts stay in vector lanes until the end.
 *
 * Every kernel computes acc[i][j] = popcount(A_i XOR B_j) summed over the kw words, then applies
 * one epilogue:
 *   MODE_INT   out_i32[i*n + j] = k - 2*acc            (the +/-1 dot product, Qian & Xiang Eq. 2)
 *   MODE_BITS  bit j of out_u64 row i = (acc <= thr[j])  (fused binary hidden layer; thr is an
 *              int64 per padded unit, thr = -1 gives a constant 0, used for padding units)
 *   MODE_FLOAT out_f32[i*n + j] = (float)(scale[j]*acc + bias[j])   (double arithmetic)
 *
 * sgemm(): the float32 layers of the same nets (a Lu/Qian net's real input layer, a real output
 * layer) through the same pool: out[i][j] = sum_k x[i][k] * W[k][j], W repacked once into
 * panels of 32 columns (panels[p][k][c] = W[k][32p + c], zero columns past n); AVX-512 with an
 * 8-row x 32-column register block of FMAs in k order, portable C elsewhere.  oneDNN's own
 * threads scale poorly at the decoder's 16-frame batches (1.2-1.3x on 2 cores measured), which
 * capped the multi-threaded speed of whole nets whose binary layers run on this pool.
 *
 * Paths: AVX-512 (F+BW+DQ+VL+VPOPCNTDQ; 4 input rows x 32 units register block, 16 zmm
 * accumulators), AVX2 (Mula's vpshufb nibble popcount on operands split into nibbles once, with
 * byte accumulators flushed through vpsadbw every 31 words), and portable C.  Chosen from CPUID at run time; the environment variable
 * BNN_KERNEL=avx512|avx2|generic forces one.
 *
 * Threads: a persistent pool (created on the first multi-threaded call, grown on demand, reset in
 * a forked child).  A call splits the weight panels -- the output columns -- evenly over
 * up to 4 * num_threads chunks that the caller and the invited workers claim from an atomic
 * counter (a worker the OS does not schedule in time is simply not waited for: the caller takes
 * its chunks and withdraws the invitation).  Workers spin 100 us on their flag after each call
 * (back-to-back layer calls start in well under a microsecond), then sleep on a condition
 * variable, so an idle pool costs no CPU.  Spawning
 * threads per call cost 30-100 us, more than a whole m = 16 layer, which is why small batches
 * did not scale.  A second Python thread calling while the pool is busy runs single-threaded.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define BNN_X86 1
#include <immintrin.h>
#else
#define BNN_X86 0
#endif

#define PANEL 32
#define MR 4

enum { MODE_INT = 0, MODE_BITS = 1, MODE_FLOAT = 2, MODE_SGEMM = 3 };
enum { KERNEL_AUTO = -1, KERNEL_GENERIC = 0, KERNEL_AVX2 = 1, KERNEL_AVX512 = 2 };

typedef struct {
    const uint64_t *a;      /* m x kw input bits */
    const uint64_t *pan;    /* npanels x kw x PANEL weight bits */
    Py_ssize_t m, kw, n, k, npanels, okw;
    int mode;
    const int64_t *thr;     /* MODE_BITS: npanels*PANEL thresholds */
    const double *scale;    /* MODE_FLOAT: n */
    const double *bias;     /* MODE_FLOAT: n */
    void *out;
    Py_ssize_t p0, p1;      /* panel range of this worker */
    const float *fa;        /* MODE_SGEMM: m x k float32 input */
    const float *fpan;      /* MODE_SGEMM: npanels x k x PANEL float32 weights */
} job_t;

/* ---------------------------------------------------------------- scalar epilogue (tile) */
static void epilogue_tile(const job_t *J, Py_ssize_t i0, int mr, Py_ssize_t p,
                          const int64_t acc[MR][PANEL])
{
    Py_ssize_t j0 = p * PANEL;
    for (int r = 0; r < mr; r++) {
        Py_ssize_t i = i0 + r;
        if (J->mode == MODE_BITS) {
            uint32_t bits = 0;
            for (int c = 0; c < PANEL; c++)
                bits |= (uint32_t)(acc[r][c] <= J->thr[j0 + c]) << c;
            uint32_t *row = (uint32_t *)((uint64_t *)J->out + i * J->okw);
            row[p] = bits;   /* little-endian: uint32 p holds bits 32p..32p+31 of the row */
        } else {
            Py_ssize_t jn = J->n - j0 < PANEL ? J->n - j0 : PANEL;
            if (J->mode == MODE_INT) {
                int32_t *o = (int32_t *)J->out + i * J->n + j0;
                for (Py_ssize_t c = 0; c < jn; c++) o[c] = (int32_t)(J->k - 2 * acc[r][c]);
            } else {
                float *o = (float *)J->out + i * J->n + j0;
                for (Py_ssize_t c = 0; c < jn; c++)
                    o[c] = (float)(J->scale[j0 + c] * (double)acc[r][c] + J->bias[j0 + c]);
            }
        }
    }
}

/* ---------------------------------------------------------------- portable C */
static inline int popc64_portable(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

#define GENERIC_BODY(POPC)                                                              \
    for (Py_ssize_t p = J->p0; p < J->p1; p++) {                                        \
        const uint64_t *pan = J->pan + p * J->kw * PANEL;                               \
        for (Py_ssize_t i0 = 0; i0 < J->m; i0 += MR) {                                  \
            int mr = (int)(J->m - i0 < MR ? J->m - i0 : MR);                            \
            int64_t acc[MR][PANEL];                                                      \
            memset(acc, 0, sizeof(acc));                                                 \
            for (int r = 0; r < mr; r++) {                                               \
                const uint64_t *a = J->a + (i0 + r) * J->kw;                             \
                for (Py_ssize_t w = 0; w < J->kw; w++) {                                 \
                    uint64_t aw = a[w];                                                  \
                    const uint64_t *b = pan + w * PANEL;                                 \
                    for (int c = 0; c < PANEL; c++) acc[r][c] += POPC(aw ^ b[c]);        \
                }                                                                        \
            }                                                                            \
            epilogue_tile(J, i0, mr, p, (const int64_t(*)[PANEL])acc);                   \
        }                                                                                \
    }

static void run_generic(const job_t *J) { GENERIC_BODY(popc64_portable) }

#if BNN_X86
__attribute__((target("popcnt"))) static void run_generic_popcnt(const job_t *J)
{
    GENERIC_BODY(__builtin_popcountll)
}

/* ---------------------------------------------------------------- AVX2 (Mula) */
#define AVX2_T __attribute__((target("avx2")))

/*
 * AVX2 with pre-split nibbles.  Masking commutes with XOR: (x ^ b) & 0x0f.. = (x & 0x0f..) ^
 * (b & 0x0f..), and likewise for the high nibbles after a shift.  So the nibble split of Mula's
 * popcount is done once per operand word -- for the inputs once per call, for the weights once
 * per panel -- instead of once per (input row, weight word) pair: the inner loop is XOR, VPSHUFB,
 * VPADDB for each half, 6 vector operations per 256 bits instead of 8.  Split layouts:
 *   as[(i*kw + w)*2 + h]          h = 0: low nibbles of word w of row i, h = 1: high nibbles;
 *   ps[(w*2 + h)*PANEL + c]       the same for word w of unit c of the current panel.
 * Byte counters take at most 8 per word (4 + 4), so they are flushed every 31 words.
 */
AVX2_T static void split_nibbles(const uint64_t *src, Py_ssize_t count, uint64_t *lo, uint64_t *hi,
                                 Py_ssize_t stride)
{
    for (Py_ssize_t t = 0; t < count; t++) {
        lo[t * stride] = src[t] & 0x0f0f0f0f0f0f0f0fULL;
        hi[t * stride] = (src[t] >> 4) & 0x0f0f0f0f0f0f0f0fULL;
    }
}

AVX2_T static void run_avx2(const job_t *J)
{
    const Py_ssize_t kw = J->kw;
    uint64_t *as = aligned_alloc(64, (size_t)((J->m * kw * 2 + 8) * 8 + 63) / 64 * 64);
    uint64_t *ps = aligned_alloc(64, (size_t)(kw * 2 * PANEL * 8 + 64));
    if (!as || !ps) {            /* out of memory for the split copies: portable kernel */
        free(as);
        free(ps);
        run_generic_popcnt(J);
        return;
    }
    for (Py_ssize_t i = 0; i < J->m; i++)
        split_nibbles(J->a + i * kw, kw, as + i * kw * 2, as + i * kw * 2 + 1, 2);
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i zero = _mm256_setzero_si256();
    for (Py_ssize_t p = J->p0; p < J->p1; p++) {
        const uint64_t *pan = J->pan + p * kw * PANEL;
        for (Py_ssize_t w = 0; w < kw; w++)
            split_nibbles(pan + w * PANEL, PANEL, ps + (w * 2) * PANEL, ps + (w * 2 + 1) * PANEL, 1);
        for (Py_ssize_t i0 = 0; i0 < J->m; i0 += MR) {
            int mr = (int)(J->m - i0 < MR ? J->m - i0 : MR);
            int64_t acc[MR][PANEL] __attribute__((aligned(32)));
            memset(acc, 0, sizeof(acc));
            const uint64_t *a[MR];
            for (int r = 0; r < MR; r++) a[r] = as + (i0 + (r < mr ? r : 0)) * kw * 2;
            for (int s = 0; s < PANEL; s += 8) {
                for (Py_ssize_t w0 = 0; w0 < kw; w0 += 31) {
                    Py_ssize_t w1 = w0 + 31 < kw ? w0 + 31 : kw;
                    __m256i c00 = zero, c01 = zero, c10 = zero, c11 = zero;
                    __m256i c20 = zero, c21 = zero, c30 = zero, c31 = zero;
                    for (Py_ssize_t w = w0; w < w1; w++) {
                        const uint64_t *b = ps + (w * 2) * PANEL + s;
                        __m256i l0 = _mm256_load_si256((const __m256i *)b);
                        __m256i l1 = _mm256_load_si256((const __m256i *)(b + 4));
                        __m256i h0 = _mm256_load_si256((const __m256i *)(b + PANEL));
                        __m256i h1 = _mm256_load_si256((const __m256i *)(b + PANEL + 4));
#define NIB_STEP(R)                                                                               \
    do {                                                                                          \
        __m256i xl = _mm256_set1_epi64x((long long)a[R][2 * w]);                                  \
        __m256i xh = _mm256_set1_epi64x((long long)a[R][2 * w + 1]);                              \
        c##R##0 = _mm256_add_epi8(c##R##0, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xl, l0)));   \
        c##R##1 = _mm256_add_epi8(c##R##1, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xl, l1)));   \
        c##R##0 = _mm256_add_epi8(c##R##0, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xh, h0)));   \
        c##R##1 = _mm256_add_epi8(c##R##1, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xh, h1)));   \
    } while (0)
                        NIB_STEP(0); NIB_STEP(1); NIB_STEP(2); NIB_STEP(3);
#undef NIB_STEP
                    }
#define FLUSH(R, C, V)                                                                   \
    _mm256_store_si256((__m256i *)&acc[R][s + 4 * C],                                    \
                       _mm256_add_epi64(_mm256_load_si256((const __m256i *)&acc[R][s + 4 * C]), \
                                        _mm256_sad_epu8(V, zero)))
                    FLUSH(0, 0, c00); FLUSH(0, 1, c01); FLUSH(1, 0, c10); FLUSH(1, 1, c11);
                    FLUSH(2, 0, c20); FLUSH(2, 1, c21); FLUSH(3, 0, c30); FLUSH(3, 1, c31);
#undef FLUSH
                }
            }
            epilogue_tile(J, i0, mr, p, (const int64_t(*)[PANEL])acc);
        }
    }
    free(ps);
    free(as);
}

/* ---------------------------------------------------------------- AVX-512 VPOPCNTDQ */
#define AVX512_T __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vpopcntdq")))

#define ACC_STEP(R)                                                                        \
    do {                                                                                   \
        __m512i x = _mm512_set1_epi64((long long)a##R[w]);                                 \
        s##R##0 = _mm512_add_epi64(s##R##0, _mm512_popcnt_epi64(_mm512_xor_si512(x, b0))); \
        s##R##1 = _mm512_add_epi64(s##R##1, _mm512_popcnt_epi64(_mm512_xor_si512(x, b1))); \
        s##R##2 = _mm512_add_epi64(s##R##2, _mm512_popcnt_epi64(_mm512_xor_si512(x, b2))); \
        s##R##3 = _mm512_add_epi64(s##R##3, _mm512_popcnt_epi64(_mm512_xor_si512(x, b3))); \
    } while (0)

AVX512_T static inline void epilogue_row512(const job_t *J, Py_ssize_t i, Py_ssize_t p,
                                            __m512i v0, __m512i v1, __m512i v2, __m512i v3)
{
    Py_ssize_t j0 = p * PANEL;
    if (J->mode == MODE_BITS) {
        const int64_t *t = J->thr + j0;
        uint32_t bits = (uint32_t)_mm512_cmple_epi64_mask(v0, _mm512_loadu_si512(t))
                      | (uint32_t)_mm512_cmple_epi64_mask(v1, _mm512_loadu_si512(t + 8)) << 8
                      | (uint32_t)_mm512_cmple_epi64_mask(v2, _mm512_loadu_si512(t + 16)) << 16
                      | (uint32_t)_mm512_cmple_epi64_mask(v3, _mm512_loadu_si512(t + 24)) << 24;
        ((uint32_t *)((uint64_t *)J->out + i * J->okw))[p] = bits;
        return;
    }
    __m512i v[4] = {v0, v1, v2, v3};
    Py_ssize_t jn = J->n - j0 < PANEL ? J->n - j0 : PANEL;
    if (J->mode == MODE_INT) {
        const __m512i kk = _mm512_set1_epi64(J->k);
        int32_t *o = (int32_t *)J->out + i * J->n + j0;
        for (int c = 0; c < 4; c++) {
            Py_ssize_t left = jn - 8 * c;
            if (left <= 0) break;
            __m256i d = _mm512_cvtepi64_epi32(_mm512_sub_epi64(kk, _mm512_slli_epi64(v[c], 1)));
            __mmask8 mk = left >= 8 ? 0xff : (__mmask8)((1u << left) - 1);
            _mm256_mask_storeu_epi32(o + 8 * c, mk, d);
        }
    } else {
        float *o = (float *)J->out + i * J->n + j0;
        for (int c = 0; c < 4; c++) {
            Py_ssize_t left = jn - 8 * c;
            if (left <= 0) break;
            __mmask8 mk = left >= 8 ? 0xff : (__mmask8)((1u << left) - 1);
            __m512d sc = _mm512_maskz_loadu_pd(mk, J->scale + j0 + 8 * c);
            __m512d bi = _mm512_maskz_loadu_pd(mk, J->bias + j0 + 8 * c);
            __m512d y = _mm512_fmadd_pd(sc, _mm512_cvtepi64_pd(v[c]), bi);
            _mm256_mask_storeu_ps(o + 8 * c, mk, _mm512_cvtpd_ps(y));
        }
    }
}

AVX512_T static void run_avx512(const job_t *J)
{
    const Py_ssize_t kw = J->kw;
    for (Py_ssize_t p = J->p0; p < J->p1; p++) {
        const uint64_t *pan = J->pan + p * kw * PANEL;
        Py_ssize_t i0 = 0;
        for (; i0 + MR <= J->m; i0 += MR) {
            const uint64_t *a0 = J->a + i0 * kw, *a1 = a0 + kw, *a2 = a1 + kw, *a3 = a2 + kw;
            __m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00;
            __m512i s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            __m512i s20 = s00, s21 = s00, s22 = s00, s23 = s00;
            __m512i s30 = s00, s31 = s00, s32 = s00, s33 = s00;
            const uint64_t *b = pan;
            for (Py_ssize_t w = 0; w < kw; w++, b += PANEL) {
                __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 8);
                __m512i b2 = _mm512_loadu_si512(b + 16), b3 = _mm512_loadu_si512(b + 24);
                ACC_STEP(0); ACC_STEP(1); ACC_STEP(2); ACC_STEP(3);
            }
            epilogue_row512(J, i0 + 0, p, s00, s01, s02, s03);
            epilogue_row512(J, i0 + 1, p, s10, s11, s12, s13);
            epilogue_row512(J, i0 + 2, p, s20, s21, s22, s23);
            epilogue_row512(J, i0 + 3, p, s30, s31, s32, s33);
        }
        for (; i0 < J->m; i0++) {          /* remaining rows one at a time */
            const uint64_t *a0 = J->a + i0 * kw;
            __m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00;
            const uint64_t *b = pan;
            for (Py_ssize_t w = 0; w < kw; w++, b += PANEL) {
                __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 8);
                __m512i b2 = _mm512_loadu_si512(b + 16), b3 = _mm512_loadu_si512(b + 24);
                ACC_STEP(0);
            }
            epilogue_row512(J, i0, p, s00, s01, s02, s03);
        }
    }
}
#endif /* BNN_X86 */

/* ---------------------------------------------------------------- dispatch */
static int kernel_available(int kern)
{
    if (kern == KERNEL_GENERIC) return 1;
#if BNN_X86
    __builtin_cpu_init();
    if (kern == KERNEL_AVX2) return __builtin_cpu_supports("avx2");
    if (kern == KERNEL_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512vpopcntdq");
#endif
    return 0;
}

static int kernel_best(void)
{
    if (kernel_available(KERNEL_AVX512)) return KERNEL_AVX512;
    if (kernel_available(KERNEL_AVX2)) return KERNEL_AVX2;
    return KERNEL_GENERIC;
}

static const char *kernel_names[] = {"generic", "avx2", "avx512"};

/* -1: BNN_KERNEL unset/empty; -2: unknown value; else the kernel */
static int kernel_from_env(void)
{
    const char *e = getenv("BNN_KERNEL");
    if (!e || !*e || !strcmp(e, "auto")) return -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(e, kernel_names[i])) return i;
    return -2;
}

/* ---------------------------------------------------------------- float32 GEMM (MODE_SGEMM) */
static void sgemm_generic(const job_t *J)
{
    const Py_ssize_t m = J->m, k = J->k, n = J->n;
    float *out = J->out;
    for (Py_ssize_t p = J->p0; p < J->p1; p++) {
        const float *w = J->fpan + p * k * PANEL;
        Py_ssize_t j0 = p * PANEL, nv = n - j0 < PANEL ? n - j0 : PANEL;
        for (Py_ssize_t i = 0; i < m; i++) {
            float acc[PANEL] = {0};
            const float *a = J->fa + i * k;
            for (Py_ssize_t kk = 0; kk < k; kk++)
                for (int c = 0; c < PANEL; c++) acc[c] += a[kk] * w[kk * PANEL + c];
            memcpy(out + i * n + j0, acc, (size_t)nv * sizeof(float));
        }
    }
}

#if BNN_X86
#define SG_RB 8     /* rows per register block: 8 x 2 zmm accumulators */
__attribute__((target("avx512f"))) static void sgemm_avx512(const job_t *J)
{
    const Py_ssize_t m = J->m, k = J->k, n = J->n;
    float *out = J->out;
    for (Py_ssize_t p = J->p0; p < J->p1; p++) {
        const float *w = J->fpan + p * k * PANEL;
        Py_ssize_t j0 = p * PANEL, nv = n - j0 < PANEL ? n - j0 : PANEL;
        __mmask16 k0 = nv >= 16 ? 0xFFFF : (__mmask16)((1u << nv) - 1);
        __mmask16 k1 = nv >= 32 ? 0xFFFF : (nv > 16 ? (__mmask16)((1u << (nv - 16)) - 1) : 0);
        Py_ssize_t i = 0;
        for (; i + SG_RB <= m; i += SG_RB) {
            __m512 c0[SG_RB], c1[SG_RB];
            for (int r = 0; r < SG_RB; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
            const float *a = J->fa + i * k;
            for (Py_ssize_t kk = 0; kk < k; kk++) {
                __m512 w0 = _mm512_loadu_ps(w + kk * PANEL), w1 = _mm512_loadu_ps(w + kk * PANEL + 16);
                for (int r = 0; r < SG_RB; r++) {
                    __m512 x = _mm512_set1_ps(a[r * k + kk]);
                    c0[r] = _mm512_fmadd_ps(x, w0, c0[r]);
                    c1[r] = _mm512_fmadd_ps(x, w1, c1[r]);
                }
            }
            for (int r = 0; r < SG_RB; r++) {
                _mm512_mask_storeu_ps(out + (i + r) * n + j0, k0, c0[r]);
                if (k1) _mm512_mask_storeu_ps(out + (i + r) * n + j0 + 16, k1, c1[r]);
            }
        }
        for (; i < m; i++) {          /* remaining rows one at a time */
            __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
            const float *a = J->fa + i * k;
            for (Py_ssize_t kk = 0; kk < k; kk++) {
                __m512 x = _mm512_set1_ps(a[kk]);
                c0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + kk * PANEL), c0);
                c1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + kk * PANEL + 16), c1);
            }
            _mm512_mask_storeu_ps(out + i * n + j0, k0, c0);
            if (k1) _mm512_mask_storeu_ps(out + i * n + j0 + 16, k1, c1);
        }
    }
}
#endif

static void run_job(const job_t *J, int kern)
{
    if (J->mode == MODE_SGEMM) {
#if BNN_X86
        if (__builtin_cpu_supports("avx512f")) { sgemm_avx512(J); return; }
#endif
        sgemm_generic(J);
        return;
    }
    switch (kern) {
#if BNN_X86
    case KERNEL_AVX512: run_avx512(J); return;
    case KERNEL_AVX2: run_avx2(J); return;
    case KERNEL_GENERIC:
        if (__builtin_cpu_supports("popcnt")) { run_generic_popcnt(J); return; }
        run_generic(J); return;
#endif
    default: run_generic(J); return;
    }
}

typedef struct { job_t job; int kern; } task_t;

/* ---------------------------------------------------------------- persistent thread pool */
#define POOL_MAX 64
#define POOL_SPIN_NS 100000     /* a worker spins this long after a call before it sleeps */

static struct {
    pthread_mutex_t mu;          /* guards sleeping workers' wait */
    pthread_cond_t cv;
    pthread_mutex_t call_mu;     /* one multi-threaded call at a time */
    int nworkers;
    atomic_int sleeping;
    job_t job;                   /* the current call; p0/p1 are set per chunk */
    int kern;
    Py_ssize_t nchunks;
    atomic_long next;            /* next chunk to claim */
    atomic_int todo[POOL_MAX];   /* 1: worker t is invited to the current call */
    atomic_int fin[POOL_MAX];    /* 1: worker t (having joined) left the current call */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static inline void cpu_relax(void)
{
#if BNN_X86
    _mm_pause();
#endif
}

static inline long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spin until *flag != 0 or POOL_SPIN_NS passed; returns the last value read. */
static int spin_for(atomic_int *flag)
{
    long long t0 = now_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            int v = atomic_load_explicit(flag, memory_order_acquire);
            if (v) return v;
            cpu_relax();
        }
        if (now_ns() - t0 > POOL_SPIN_NS) return 0;
    }
}

/* Claim chunks of panels of the current call until none is left (caller and workers alike). */
static void run_chunks(void)
{
    const Py_ssize_t np_ = pool.job.npanels, nc = pool.nchunks;
    for (;;) {
        long c = atomic_fetch_add(&pool.next, 1);
        if (c >= nc) return;
        job_t J = pool.job;
        J.p0 = np_ * c / nc;
        J.p1 = np_ * (c + 1) / nc;
        run_job(&J, pool.kern);
    }
}

static void *pool_worker(void *arg)
{
    int idx = (int)(intptr_t)arg;          /* worker index, 1-based (0 is the caller) */
    for (;;) {
        if (atomic_exchange(&pool.todo[idx], 0) == 1) {      /* joined the current call */
            run_chunks();
            atomic_store_explicit(&pool.fin[idx], 1, memory_order_release);
            continue;
        }
        if (spin_for(&pool.todo[idx])) continue;
        pthread_mutex_lock(&pool.mu);
        atomic_fetch_add(&pool.sleeping, 1);      /* seq_cst, then re-check: no lost wake-up */
        while (atomic_load(&pool.todo[idx]) == 0) pthread_cond_wait(&pool.cv, &pool.mu);
        atomic_fetch_sub(&pool.sleeping, 1);
        pthread_mutex_unlock(&pool.mu);
    }
    return NULL;
}

static void pool_after_fork_child(void)
{
    /* the child has none of the parent's threads: start from an empty pool */
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.cv, NULL);
    pthread_mutex_init(&pool.call_mu, NULL);
    pool.nworkers = 0;
    atomic_store(&pool.sleeping, 0);
    for (int t = 0; t < POOL_MAX; t++) {
        atomic_store(&pool.todo[t], 0);
        atomic_store(&pool.fin[t], 0);
    }
}

/* Make sure want-1 workers exist; returns the number of participants (<= want). */
static int pool_reserve(int want)
{
    static int atfork_done = 0;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, pool_after_fork_child);
        atfork_done = 1;
    }
    if (want > POOL_MAX) want = POOL_MAX;
    while (pool.nworkers < want - 1) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&tid, &attr, pool_worker, (void *)(intptr_t)(pool.nworkers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        pool.nworkers++;
    }
    return pool.nworkers + 1 < want ? pool.nworkers + 1 : want;
}

/* Run J on up to nthreads threads: the panels are cut into chunks (4 per thread) claimed
 * dynamically, so a worker the OS has not scheduled yet costs nothing -- the caller takes its
 * chunks, and withdraws the invitation of a worker that never arrived. */
static void run_parallel(const job_t *J, int kern, int nthreads)
{
    if (pthread_mutex_trylock(&pool.call_mu) != 0) {   /* pool busy (another Python thread) */
        run_job(J, kern);
        return;
    }
    int nt = pool_reserve(nthreads);
    pool.job = *J;
    pool.kern = kern;
    pool.nchunks = J->npanels < 4 * nt ? J->npanels : 4 * nt;
    atomic_store(&pool.next, 0);
    for (int t = 1; t < nt; t++) {
        atomic_store(&pool.fin[t], 0);
        atomic_store(&pool.todo[t], 1);
    }
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.mu);
        pthread_cond_broadcast(&pool.cv);
        pthread_mutex_unlock(&pool.mu);
    }
    run_chunks();
    for (int t = 1; t < nt; t++) {
        if (atomic_exchange(&pool.todo[t], 0) == 1) continue;    /* never joined */
        while (!spin_for(&pool.fin[t])) sched_yield();
    }
    pthread_mutex_unlock(&pool.call_mu);
}

static int get_buf(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t need, const char *what)
{
    if (PyObject_GetBuffer(obj, view, (writable ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len < need) {
        PyErr_Format(PyExc_ValueError, "%s: buffer has %zd bytes, need %zd", what, view->len, need);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int resolve_kernel(int kern)
{
    if (kern == KERNEL_AUTO) {
        int e = kernel_from_env();
        if (e == -2) {
            PyErr_Format(PyExc_ValueError, "BNN_KERNEL=%s: expected avx512, avx2, generic or auto",
                         getenv("BNN_KERNEL"));
            return -1;
        }
        kern = e >= 0 ? e : kernel_best();
    }
    if (kern < 0 || kern > 2) {
        PyErr_Format(PyExc_ValueError, "unknown kernel id %d", kern);
        return -1;
    }
    if (!kernel_available(kern)) {
        PyErr_Format(PyExc_RuntimeError, "kernel %s is not supported by this CPU", kernel_names[kern]);
        return -1;
    }
    return kern;
}

PyDoc_STRVAR(gemm_doc,
"gemm(a, m, kw, panels, n, k, mode, thr, scale, bias, out, kernel=-1, num_threads=1)\n"
"XOR-popcount GEMM on packed bits; see the file header for layouts and modes.\n"
"a: m*kw uint64; panels: ceil(n/32)*kw*32 uint64; mode 0 -> out int32 m*n (k - 2*popcount),\n"
"mode 1 -> out uint64 m*ceil(n/64) bits (acc <= thr[j]), thr int64 ceil(n/32)*32;\n"
"mode 2 -> out float32 m*n (scale[j]*acc + bias[j]), scale/bias float64 n.\n"
"kernel: -1 auto (BNN_KERNEL or best), 0 generic, 1 avx2, 2 avx512.  Returns the kernel used.");

static PyObject *py_gemm(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"a", "m", "kw", "panels", "n", "k", "mode", "thr", "scale", "bias",
                             "out", "kernel", "num_threads", NULL};
    PyObject *oa, *op, *othr, *oscale, *obias, *oout;
    Py_ssize_t m, kw, n, k;
    int mode, kern = KERNEL_AUTO, nthreads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnnOnniOOOO|ii", kwlist, &oa, &m, &kw, &op, &n,
                                     &k, &mode, &othr, &oscale, &obias, &oout, &kern, &nthreads))
        return NULL;
    if (m < 0 || kw < 0 || n < 0 || k < 0 || k > 64 * kw) {
        PyErr_SetString(PyExc_ValueError, "bad sizes (need 0 <= k <= 64*kw)");
        return NULL;
    }
    if (mode < 0 || mode > 2) {
        PyErr_SetString(PyExc_ValueError, "mode must be 0 (int), 1 (bits) or 2 (float)");
        return NULL;
    }
    if ((kern = resolve_kernel(kern)) < 0) return NULL;
    Py_ssize_t npanels = (n + PANEL - 1) / PANEL, okw = (n + 63) / 64;
    Py_buffer ba, bp, bt = {0}, bs = {0}, bb = {0}, bo;
    int have_t = 0, have_s = 0, have_b = 0;
    if (get_buf(oa, &ba, 0, m * kw * 8, "a") < 0) return NULL;
    if (get_buf(op, &bp, 0, npanels * kw * PANEL * 8, "panels") < 0) goto fail_a;
    Py_ssize_t out_bytes = mode == MODE_BITS ? m * okw * 8 : m * n * 4;
    if (get_buf(oout, &bo, 1, out_bytes, "out") < 0) goto fail_p;
    if (mode == MODE_BITS) {
        if (get_buf(othr, &bt, 0, npanels * PANEL * 8, "thr") < 0) goto fail_o;
        have_t = 1;
    }
    if (mode == MODE_FLOAT) {
        if (get_buf(oscale, &bs, 0, n * 8, "scale") < 0) goto fail_o;
        have_s = 1;
        if (get_buf(obias, &bb, 0, n * 8, "bias") < 0) goto fail_o;
        have_b = 1;
    }
    job_t J = {ba.buf, bp.buf, m, kw, n, k, npanels, okw, mode,
               have_t ? bt.buf : NULL, have_s ? bs.buf : NULL, have_b ? bb.buf : NULL,
               bo.buf, 0, npanels, NULL, NULL};
    if (nthreads < 1) nthreads = 1;
    if (nthreads > npanels) nthreads = (int)(npanels > 0 ? npanels : 1);
    int err = 0;
    Py_BEGIN_ALLOW_THREADS
    if (nthreads == 1 || m == 0)
        run_job(&J, kern);
    else
        run_parallel(&J, kern, nthreads);
    Py_END_ALLOW_THREADS
    if (have_b) PyBuffer_Release(&bb);
    if (have_s) PyBuffer_Release(&bs);
    if (have_t) PyBuffer_Release(&bt);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&ba);
    if (err) return PyErr_NoMemory();
    return PyLong_FromLong(kern);
fail_o:
    if (have_s) PyBuffer_Release(&bs);
    if (have_t) PyBuffer_Release(&bt);
    PyBuffer_Release(&bo);
fail_p:
    PyBuffer_Release(&bp);
fail_a:
    PyBuffer_Release(&ba);
    return NULL;
}

PyDoc_STRVAR(sgemm_doc,
"sgemm(x, m, k, panels, n, out, num_threads=1)\n"
"float32 out[m, n] = x[m, k] @ W[k, n], W as panels[ceil(n/32), k, 32] (see the file header);\n"
"the output columns are split over the thread pool.");

static PyObject *py_sgemm(PyObject *self, PyObject *args)
{
    PyObject *ox, *op, *oo;
    Py_ssize_t m, k, n;
    int nthreads = 1;
    if (!PyArg_ParseTuple(args, "OnnOnO|i", &ox, &m, &k, &op, &n, &oo, &nthreads)) return NULL;
    if (m < 0 || k < 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "sgemm: negative size");
        return NULL;
    }
    Py_ssize_t npanels = (n + PANEL - 1) / PANEL;
    Py_buffer bx, bp, bo;
    if (get_buf(ox, &bx, 0, m * k * 4, "x") < 0) return NULL;
    if (get_buf(op, &bp, 0, npanels * k * PANEL * 4, "panels") < 0) { PyBuffer_Release(&bx); return NULL; }
    if (get_buf(oo, &bo, 1, m * n * 4, "out") < 0) {
        PyBuffer_Release(&bp); PyBuffer_Release(&bx); return NULL;
    }
    job_t J = {NULL, NULL, m, 0, n, k, npanels, 0, MODE_SGEMM, NULL, NULL, NULL, bo.buf, 0,
               npanels, bx.buf, bp.buf};
    if (nthreads < 1) nthreads = 1;
    if (nthreads > npanels) nthreads = (int)(npanels > 0 ? npanels : 1);
    Py_BEGIN_ALLOW_THREADS
    if (nthreads == 1 || m == 0) run_job(&J, KERNEL_GENERIC);
    else run_parallel(&J, KERNEL_GENERIC, nthreads);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bx);
    Py_RETURN_NONE;
}

static PyObject *py_kernels(PyObject *self, PyObject *noargs)
{
    PyObject *lst = PyList_New(0);
    if (!lst) return NULL;
    for (int i = 2; i >= 0; i--) {
        if (!kernel_available(i)) continue;
        PyObject *s = PyUnicode_FromString(kernel_names[i]);
        if (!s || PyList_Append(lst, s) < 0) { Py_XDECREF(s); Py_DECREF(lst); return NULL; }
        Py_DECREF(s);
    }
    return lst;
}

static PyObject *py_default_kernel(PyObject *self, PyObject *noargs)
{
    int k = resolve_kernel(KERNEL_AUTO);
    if (k < 0) return NULL;
    return PyUnicode_FromString(kernel_names[k]);
}

static PyMethodDef methods[] = {
    {"gemm", (PyCFunction)(void (*)(void))py_gemm, METH_VARARGS | METH_KEYWORDS, gemm_doc},
    {"sgemm", py_sgemm, METH_VARARGS, sgemm_doc},
    {"kernels", py_kernels, METH_NOARGS, "Kernels this CPU supports, best first."},
    {"default_kernel", py_default_kernel, METH_NOARGS,
     "The kernel used when none is given (BNN_KERNEL, else the best supported)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_bitgemm",
                                    "Bit-packed XOR-popcount GEMM kernels (see bnn/infer/bitgemm.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__bitgemm(void)
{
    PyObject *mod = PyModule_Create(&moddef);
    if (!mod) return NULL;
    if (PyModule_AddIntConstant(mod, "PANEL", PANEL) < 0 ||
        PyModule_AddIntConstant(mod, "MODE_INT", MODE_INT) < 0 ||
        PyModule_AddIntConstant(mod, "MODE_BITS", MODE_BITS) < 0 ||
        PyModule_AddIntConstant(mod, "MODE_FLOAT", MODE_FLOAT) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
