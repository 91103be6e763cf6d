/* Whole-network forward of the packed binary D-FSMN (BiFSMNv2) in one C call.
 *
 * The same arithmetic as the numpy path of bnn/kws/packed.py (PackedKWS._forward_numpy), one
 * window after the other, without per-layer Python or numpy dispatch: at batch 1 the numpy
 * path spends nearly all of its time in ~600 small numpy calls.  Every binarized layer takes
 * the dual-scale activation of its input (Qin et al. 2023, BiFSMNv2 Sec. III-A; two bit-planes
 * b1, s2 and a per-window scale a = mean|r|), packs both planes into 64-bit words (bit 1 = +1,
 * padding bits 0, the bnn.infer.packing layout) and computes the +/-1 dot products as
 * k - 2 popcount(x XOR w); the folded output is y = (D1 + a D2) scale + const, then PReLU.
 *
 * float32 arithmetic in the numpy path's order (no FMA contraction: built with
 * -ffp-contract=off; -fno-trapping-math only lets the compiler evaluate both sides of a
 * select, which changes no value); the two sums numpy does differently -- the mean of |r| (pairwise in
 * numpy, here in double) and the real first convolution and classifier (BLAS in numpy, here
 * sequential) -- differ by float32 rounding only.
 *
 * Parameters come as one float32 buffer and one uint64 buffer read in a fixed order (built by
 * PackedKWS._c_buffers; the order is documented there), the slope signs as int32 pairs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NB 32          /* mel bins = frames of the input window */

#if defined(__x86_64__) && defined(__GNUC__)
#define HOT __attribute__((target("popcnt")))
#else
#define HOT
#endif
static inline HOT int popc(uint64_t v) { return __builtin_popcountll(v); }

static inline float prelu(float y, float p)
{
    float neg = y * p;
    return y > 0.0f ? y : neg;
}

/* Dual-scale planes of x (rows x k values, channels last) divided by insc: b1 (bytes) and r,
 * and when b1w/s2w are given, b1 and s2 packed as bit rows of kw words; returns a = mean|r|. */
static float planes(const float *x, int n, int k, float insc, const float *t0, const float *t1,
                    int s1, int s2, uint64_t *b1w, uint64_t *s2w, unsigned char *b1, float *r)
{
    double sum = 0.0;
    int kw = (k + 63) / 64, rows = n / k;
    for (int row = 0; row < rows; row++) {
        const float *xr = x + (size_t)row * k;
        unsigned char *br = b1 + (size_t)row * k;
        float *rr = r + (size_t)row * k;
        double part = 0.0;
        for (int j = 0; j < k; j++) {
            float u = insc != 1.0f ? xr[j] / insc : xr[j];
            int b = s1 > 0 ? (u > t0[j]) : s1 < 0 ? (u < t0[j]) : 0;
            float ri = (u - (float)(2 * b - 1)) - t1[j];
            br[j] = (unsigned char)b;
            rr[j] = ri;
            part += fabs((double)ri);
        }
        sum += part;
        if (b1w) {
            uint64_t *bw = b1w + (size_t)row * kw, *sw = s2w + (size_t)row * kw;
            for (int q = 0; q < kw; q++) {
                uint64_t wb = 0, ws = 0;
                int j1 = q * 64 + 64 < k ? q * 64 + 64 : k;
                for (int j = q * 64; j < j1; j++) {
                    int s = s2 > 0 ? (rr[j] > 0.0f) : s2 < 0 ? (rr[j] < 0.0f) : 0;
                    wb |= (uint64_t)br[j] << (j - q * 64);
                    ws |= (uint64_t)s << (j - q * 64);
                }
                bw[q] = wb;
                sw[q] = ws;
            }
        }
    }
    return (float)(sum / n);
}

/* PReLU of y[0..n) in place (slopes p), plus res when given: separate simple loops, so the
 * compiler makes the data-dependent select branch-free (vector blends). */
static void prelu_rows(float *restrict y, int n, const float *restrict p, const float *restrict res)
{
    /* both sides computed unconditionally: gcc does not speculate a float multiply under its
     * default -ftrapping-math, so a conditional one stays a data-dependent branch */
    for (int o = 0; o < n; o++) {
        float v = y[o], neg = v * p[o];
        y[o] = v > 0.0f ? v : neg;
    }
    if (res)
        for (int o = 0; o < n; o++) y[o] += res[o];
}

/* y[row, o] = PReLU((D1 + a D2) scale[o] + cst[o]) (+ res[row, o]) for rows x n outputs. */
static HOT void bin_dense(const uint64_t *b1w, const uint64_t *s2w, int rows, int k, float a,
                          const uint64_t *w, int n, const float *scale, const float *cst,
                          const float *pr, const float *res, float *y)
{
    int kw = (k + 63) / 64;
    for (int t = 0; t < rows; t++) {
        const uint64_t *xb = b1w + t * kw, *xs = s2w + t * kw;
        float *yt = y + (size_t)t * n;
        for (int o = 0; o < n; o++) {
            const uint64_t *wo = w + (size_t)o * kw;
            int p1 = 0, p2 = 0;
            for (int q = 0; q < kw; q++) {
                p1 += popc(xb[q] ^ wo[q]);
                p2 += popc(xs[q] ^ wo[q]);
            }
            float d1 = (float)(k - 2 * p1), d2 = (float)(k - 2 * p2);
            float dd = d1 + a * d2;
            yt[o] = dd * scale[o] + cst[o];
        }
        prelu_rows(yt, n, pr, res ? res + (size_t)t * n : NULL);
    }
}

PyDoc_STRVAR(forward_doc,
"forward(x, batch, fbuf, bbuf, signs, dims, out)\n"
"Logits of the packed D-FSMN: x float32 (batch, 32, 32), out float32 (batch, classes).\n"
"dims int32: layers, memory, hidden, frames (t_out), lorder, rorder, classes.");

static int get(PyObject *o, Py_buffer *v, int wr, Py_ssize_t need, const char *what)
{
    if (PyObject_GetBuffer(o, v, (wr ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (v->len < need) {
        PyErr_Format(PyExc_ValueError, "%s: buffer has %zd bytes, need %zd", what, v->len, need);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

static HOT PyObject *py_forward(PyObject *self, PyObject *args)
{
    PyObject *ox, *of, *ob, *os, *od, *oo;
    Py_ssize_t batch;
    if (!PyArg_ParseTuple(args, "OnOOOOO", &ox, &batch, &of, &ob, &os, &od, &oo)) return NULL;
    Py_buffer bx = {0}, bf = {0}, bb = {0}, bs = {0}, bd = {0}, bo = {0};
    PyObject *ret = NULL;
    float *scr = NULL;
    if (get(od, &bd, 0, 7 * 4, "dims") < 0) return NULL;
    const int32_t *dims = (const int32_t *)bd.buf;
    int L = dims[0], M = dims[1], H = dims[2], T = dims[3], lo = dims[4], ro = dims[5], NC = dims[6];
    int K = lo + ro + 1, LIN = 32 * (NB / 4);
    if (T != NB / 4 || L < 0 || M <= 0 || H <= 0 || NC <= 0 || lo < 0 || ro < 0 || batch < 0) {
        PyErr_SetString(PyExc_ValueError, "bad D-FSMN dims");
        goto done;
    }
    Py_ssize_t nf = 64 + 25 * 16 + 32 + (1 + 32 + 32 + 64 * 32 * 2 + 32) + (1 + 2 * LIN + 3 * M)
        + (Py_ssize_t)L * ((1 + 2 * M + K * M + M + T * M + M) + (1 + 2 * M + 3 * H)
                           + (1 + 2 * H + 3 * M))
        + (Py_ssize_t)T * M * NC + NC;
    int kw2 = (400 + 63) / 64, kwl = (LIN + 63) / 64, kwm = (M + 63) / 64, kwh = (H + 63) / 64;
    Py_ssize_t nb = 32 * kw2 + (Py_ssize_t)M * kwl + (Py_ssize_t)L * (H * kwm + M * kwh);
    if (get(ox, &bx, 0, batch * NB * NB * 4, "x") < 0) goto done;
    if (get(of, &bf, 0, nf * 4, "fbuf") < 0) goto done;
    if (get(ob, &bb, 0, nb * 8, "bbuf") < 0) goto done;
    if (get(os, &bs, 0, (Py_ssize_t)(2 + 3 * L) * 2 * 4, "signs") < 0) goto done;
    if (get(oo, &bo, 1, batch * NC * 4, "out") < 0) goto done;

    /* scratch: conv1 output / plane buffers (n values), frame buffers (T x W), bit rows */
    int W = LIN > H ? LIN : H;
    if (M > W) W = M;
    int n = 4096 > T * W ? 4096 : T * W, kwW = (W + 63) / 64;
    size_t nscr = (size_t)2 * n + (size_t)5 * T * W;
    size_t nwords = (size_t)2 * 64 * kw2 + (size_t)2 * T * kwW;
    scr = (float *)malloc(nscr * sizeof(float) + nwords * 8 + (size_t)2 * n + 8);
    if (!scr) { PyErr_NoMemory(); goto done; }
    float *h1 = scr, *r = h1 + n, *xa = r + n, *xm = xa + T * W, *xh = xm + T * W,
          *z = xh + T * W, *acc = z + T * W;
    uint64_t *w1 = (uint64_t *)(scr + nscr), *w2 = w1 + 64 * kw2, *v1 = w2 + 64 * kw2,
             *v2 = v1 + (size_t)T * kwW;
    unsigned char *b1 = (unsigned char *)(v2 + (size_t)T * kwW), *s2b = b1 + n;

    Py_BEGIN_ALLOW_THREADS
    const int32_t *sg = (const int32_t *)bs.buf;
    for (Py_ssize_t bi = 0; bi < batch; bi++) {
        const float *F = (const float *)bf.buf;
        const uint64_t *Bt = (const uint64_t *)bb.buf;
        const float *x = (const float *)bx.buf + bi * NB * NB;
        const float *fmean = F, *fstd = F + 32;
        F += 64;
        const float *c1w = F, *c1b = F + 400, *c1p = F + 416;
        F += 432;
        /* conv1 (real) 5x5 stride 2 pad 2 on the normalised input -> h1 (t, f, c) 16x16x16 */
        float xn[NB * NB];
        for (int i = 0; i < NB * NB; i++) xn[i] = (x[i] - fmean[i % NB]) / fstd[i % NB];
        for (int oh = 0; oh < 16; oh++)
            for (int ow = 0; ow < 16; ow++) {
                float s[16];
                for (int o = 0; o < 16; o++) s[o] = 0.0f;
                for (int kh = 0; kh < 5; kh++) {
                    int ih = 2 * oh + kh - 2;
                    if (ih < 0 || ih >= NB) continue;
                    for (int kx = 0; kx < 5; kx++) {
                        int iw = 2 * ow + kx - 2;
                        if (iw < 0 || iw >= NB) continue;
                        float v = xn[ih * NB + iw];
                        const float *wr = c1w + (kh * 5 + kx) * 16;
                        for (int o = 0; o < 16; o++) s[o] += v * wr[o];
                    }
                }
                for (int o = 0; o < 16; o++)
                    h1[(oh * 16 + ow) * 16 + o] = prelu(s[o] + c1b[o], c1p[o]);
            }
        /* conv2 (binary): planes of h1, packed im2col rows (c, kh, kw) of 400 bits, padded taps
         * are bit 0 (-1) and corrected by corr */
        float insc = F[0];
        const float *t0 = F + 1, *t1 = F + 17, *sc = F + 33, *corr = F + 65, *cmap = corr + 2048,
                    *pr = cmap + 2048;
        F = pr + 32;
        float a = planes(h1, 4096, 16, insc, t0, t1, sg[0], sg[1], NULL, NULL, b1, r);
        float *c2o = z;                                 /* 64 x 32 <= T x W (W >= LIN = 256) */
        for (int i = 0; i < 4096; i++)
            s2b[i] = (unsigned char)(sg[1] > 0 ? (r[i] > 0.0f) : sg[1] < 0 ? (r[i] < 0.0f) : 0);
        memset(w1, 0, sizeof(uint64_t) * 64 * kw2);
        memset(w2, 0, sizeof(uint64_t) * 64 * kw2);
        for (int oh = 0; oh < 8; oh++)
            for (int ow = 0; ow < 8; ow++) {
                int pos = oh * 8 + ow;
                for (int c = 0; c < 16; c++)
                    for (int kh = 0; kh < 5; kh++)
                        for (int kx = 0; kx < 5; kx++) {
                            int ih = 2 * oh + kh - 2, iw = 2 * ow + kx - 2;
                            if (ih < 0 || ih >= 16 || iw < 0 || iw >= 16) continue;
                            int i = (ih * 16 + iw) * 16 + c, j = c * 25 + kh * 5 + kx;
                            /* branch-free: the bits are data, unpredictable */
                            w1[pos * kw2 + j / 64] |= (uint64_t)b1[i] << (j % 64);
                            w2[pos * kw2 + j / 64] |= (uint64_t)s2b[i] << (j % 64);
                        }
            }
        for (int pos = 0; pos < 64; pos++)
            for (int o = 0; o < 32; o++) {
                const uint64_t *wo = Bt + o * kw2;
                int p1 = 0, p2 = 0;
                for (int q = 0; q < kw2; q++) {
                    p1 += popc(w1[pos * kw2 + q] ^ wo[q]);
                    p2 += popc(w2[pos * kw2 + q] ^ wo[q]);
                }
                float d1 = (float)(400 - 2 * p1) + corr[pos * 32 + o];
                float d2 = (float)(400 - 2 * p2) + corr[pos * 32 + o];
                c2o[pos * 32 + o] = (d1 + a * d2) * sc[o] + cmap[pos * 32 + o];
            }
        for (int pos = 0; pos < 64; pos++) {
            prelu_rows(c2o + pos * 32, 32, pr, NULL);
            int t = pos / 8, f = pos % 8;
            for (int o = 0; o < 32; o++)
                xa[t * LIN + o * 8 + f] = c2o[pos * 32 + o];   /* frame t, feature c*8+f */
        }
        Bt += 32 * kw2;
        /* linear 256 -> M (binary) */
        insc = F[0]; t0 = F + 1; t1 = F + 1 + LIN; sc = F + 1 + 2 * LIN;
        const float *cs = sc + M;
        pr = cs + M;
        F = pr + M;
        a = planes(xa, T * LIN, LIN, insc, t0, t1, sg[2], sg[3], v1, v2, b1, r);
        bin_dense(v1, v2, T, LIN, a, Bt, M, sc, cs, pr, NULL, xm);
        Bt += (size_t)M * kwl;
        float *xc = xm;        /* the residual stream x (T x M) */
        for (int l = 0; l < L; l++) {
            const int32_t *sl = sg + 4 + 6 * l;
            /* memory: depthwise K taps on b1 + a s2, zero padded, + x */
            insc = F[0]; t0 = F + 1; t1 = F + 1 + M;
            const float *taps = F + 1 + 2 * M;
            sc = taps + K * M; cs = sc + M; pr = cs + T * M;
            F = pr + M;
            a = planes(xc, T * M, M, insc, t0, t1, sl[0], sl[1], NULL, NULL, b1, r);
            for (int i = 0; i < T * M; i++) {
                int s = sl[1] > 0 ? (r[i] > 0.0f) : sl[1] < 0 ? (r[i] < 0.0f) : 0;
                float pm[2] = {-1.0f, 1.0f}, pa[2] = {-a, a};
                z[i] = pm[b1[i]] + pa[s];
            }
            /* taps in order k = 0..K-1 over the zero-padded frames (a padded tap adds 0) */
            for (int i = 0; i < T * M; i++) acc[i] = 0.0f;
            for (int kk = 0; kk < K; kk++)
                for (int t = 0; t < T; t++) {
                    int tt = t + kk - lo;
                    if (tt < 0 || tt >= T) continue;
                    const float *zr = z + tt * M, *tp = taps + kk * M;
                    float *ar = acc + t * M;
                    for (int c = 0; c < M; c++) ar[c] += zr[c] * tp[c];
                }
            for (int t = 0; t < T; t++) {
                float *ar = acc + t * M;
                const float *cr = cs + t * M;
                for (int c = 0; c < M; c++) ar[c] = ar[c] * sc[c] + cr[c];
                prelu_rows(ar, M, pr, xc + t * M);
            }
            float *m = acc;
            /* expand M -> H */
            insc = F[0]; t0 = F + 1; t1 = F + 1 + M; sc = F + 1 + 2 * M; cs = sc + H; pr = cs + H;
            F = pr + H;
            a = planes(m, T * M, M, insc, t0, t1, sl[2], sl[3], v1, v2, b1, r);
            bin_dense(v1, v2, T, M, a, Bt, H, sc, cs, pr, NULL, xh);
            Bt += (size_t)H * kwm;
            /* project H -> M, + m */
            insc = F[0]; t0 = F + 1; t1 = F + 1 + H; sc = F + 1 + 2 * H; cs = sc + M; pr = cs + M;
            F = pr + M;
            a = planes(xh, T * H, H, insc, t0, t1, sl[4], sl[5], v1, v2, b1, r);
            float *nx = (xc == xm) ? xa : xm;
            bin_dense(v1, v2, T, H, a, Bt, M, sc, cs, pr, m, nx);
            Bt += (size_t)M * kwh;
            xc = nx;
        }
        /* classifier (real): logits = x(T*M) @ W (T*M, NC) + b */
        const float *cw = F, *cb = F + (size_t)T * M * NC;
        float *out = (float *)bo.buf + bi * NC;
        for (int n = 0; n < NC; n++) out[n] = 0.0f;
        for (int j = 0; j < T * M; j++) {
            float v = xc[j];
            for (int n = 0; n < NC; n++) out[n] += v * cw[(size_t)j * NC + n];
        }
        for (int n = 0; n < NC; n++) out[n] += cb[n];
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(scr);
    if (bx.obj) PyBuffer_Release(&bx);
    if (bf.obj) PyBuffer_Release(&bf);
    if (bb.obj) PyBuffer_Release(&bb);
    if (bs.obj) PyBuffer_Release(&bs);
    if (bo.obj) PyBuffer_Release(&bo);
    PyBuffer_Release(&bd);
    return ret;
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS, forward_doc},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_dfsmn",
                                    "Packed binary D-FSMN forward (bnn.kws.packed).", -1, methods};

PyMODINIT_FUNC PyInit__dfsmn(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* the hot loops use the popcnt instruction: without it the import fails and bnn.kws.packed
     * runs its numpy path */
    if (!__builtin_cpu_supports("popcnt")) {
        PyErr_SetString(PyExc_ImportError, "_dfsmn needs a CPU with popcnt");
        return NULL;
    }
#endif
    return PyModule_Create(&moddef);
}
