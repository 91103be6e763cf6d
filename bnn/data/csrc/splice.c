/*
 * bnn.data._splice -- the minibatch gather of the batched training input pipeline
 * (bnn/data/batched.py): spliced network-input rows straight from the chunk of delta features,
 * with the global normalisation fused into the same pass.
 *
 *   out[b, p*C + c] = (feats[index[b, p], c] - mean[p*C + c]) / std[p*C + c]
 *
 * for b < B rows, p < P splice positions, c < C feature dims; float32 subtraction then float32
 * division, the operations (and roundings) of numpy's (x - mean) / std on the spliced row, so the
 * result is bit-identical to the numpy/kaldi-native-fbank path (compiled without -ffast-math).
 * mean/std may be None: a plain gather.  Indices are checked against the number of feature rows.
 * The GIL is released; torch's index_select + sub_ + div_ do the same in three passes.
 * splice_centre() computes the same rows from centre frames and utterance bounds (no index
 * matrix) and is what the pipeline calls; splice_norm() stays for arbitrary index matrices.
 *
 * front_end(): apply-cmvn and add-deltas on a chunk of concatenated utterances in one pass per
 * utterance (cache-resident), the arithmetic of Kaldi/kaldi-native-fbank in its order:
 *   y = x * scale + offset   (norm-vars; two float32 roundings)   or   y = x + offset
 *   delta_i[t] = sum_j taps_i[j] * y[clamp(t + j)]   (taps ascending, zero taps skipped,
 *                                                     float32 products and sums, no FMA)
 * Built with -ffp-contract=off so the compiler never fuses a multiply and an add.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

__attribute__((target_clones("avx512f", "avx2", "default")))
static void splice_rows(const float *feats, const int64_t *index, const float *mean,
                        const float *sd, float *out, Py_ssize_t n, Py_ssize_t c, Py_ssize_t b,
                        Py_ssize_t p, int *bad, long long *badrow)
{
    for (Py_ssize_t r = 0; r < b; r++) {
        for (Py_ssize_t q = 0; q < p; q++) {
            int64_t row = index[r * p + q];
            if (row < 0 || row >= n) { *bad = 1; *badrow = (long long)row; return; }
            const float *src = feats + row * c;
            float *dst = out + (r * p + q) * c;
            if (mean) {
                const float *m = mean + q * c, *s = sd + q * c;
                for (Py_ssize_t k = 0; k < c; k++) dst[k] = (src[k] - m[k]) / s[k];
            } else {
                memcpy(dst, src, (size_t)c * sizeof(float));
            }
        }
    }
}

typedef struct {
    const float *feats, *mean, *sd;
    const int64_t *index;
    float *out;
    Py_ssize_t n, c, b, p;
    int bad;
    long long badrow;
} splice_job_t;

static void *splice_thread(void *arg)
{
    splice_job_t *j = arg;
    splice_rows(j->feats, j->index, j->mean, j->sd, j->out, j->n, j->c, j->b, j->p, &j->bad,
                &j->badrow);
    return NULL;
}

static PyObject *py_splice_norm(PyObject *self, PyObject *args)
{
    PyObject *of, *oi, *om, *os, *oo;
    Py_ssize_t n, c, b, p;
    int nthreads = 1;
    if (!PyArg_ParseTuple(args, "OnnOnnOOO|i", &of, &n, &c, &oi, &b, &p, &om, &os, &oo,
                          &nthreads))
        return NULL;
    Py_buffer bf, bi, bm = {0}, bs = {0}, bo;
    int have_norm = om != Py_None;
    if (PyObject_GetBuffer(of, &bf, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(oi, &bi, PyBUF_C_CONTIGUOUS) < 0) { PyBuffer_Release(&bf); return NULL; }
    if (PyObject_GetBuffer(oo, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bi); PyBuffer_Release(&bf); return NULL;
    }
    int err = 0;
    if (have_norm) {
        if (PyObject_GetBuffer(om, &bm, PyBUF_C_CONTIGUOUS) < 0) { err = 2; goto done; }
        if (PyObject_GetBuffer(os, &bs, PyBUF_C_CONTIGUOUS) < 0) { PyBuffer_Release(&bm); err = 2; goto done; }
        if (bm.len < p * c * 4 || bs.len < p * c * 4) err = 1;
    }
    if (bf.len < n * c * 4 || bi.len < b * p * 8 || bo.len < b * p * c * 4) err = 1;
    int bad = 0;
    long long badrow = 0;
    if (!err) {
        const float *feats = bf.buf, *mean = have_norm ? bm.buf : NULL, *sd = have_norm ? bs.buf : NULL;
        const int64_t *index = bi.buf;
        float *out = bo.buf;
        Py_BEGIN_ALLOW_THREADS
        if (nthreads > 1 && b >= 64) {     /* rows split in two: a second thread, this one */
            Py_ssize_t half = b / 2;
            splice_job_t j2 = {feats, mean, sd, index + half * p, out + half * p * c, n, c,
                               b - half, p, 0, 0};
            pthread_t tid;
            int started = pthread_create(&tid, NULL, splice_thread, &j2) == 0;
            splice_rows(feats, index, mean, sd, out, n, c, half, p, &bad, &badrow);
            if (started) pthread_join(tid, NULL);
            else splice_thread(&j2);
            if (!bad && j2.bad) { bad = 1; badrow = j2.badrow; }
        } else {
            splice_rows(feats, index, mean, sd, out, n, c, b, p, &bad, &badrow);
        }
        Py_END_ALLOW_THREADS
    }
    if (have_norm) { PyBuffer_Release(&bs); PyBuffer_Release(&bm); }
done:
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bi);
    PyBuffer_Release(&bf);
    if (err == 2) return NULL;
    if (err) { PyErr_SetString(PyExc_ValueError, "splice_norm: buffer too small for the sizes"); return NULL; }
    if (bad) {
        PyErr_Format(PyExc_IndexError, "splice_norm: row index %lld out of range [0, %zd)",
                     badrow, n);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* splice_centre(): the same rows as splice_norm, from centre frames instead of an index matrix:
 * row b takes positions q = 0..P-1 of frame centre[b] + q - left, clamped to
 * [start[centre[b]], end[centre[b]]) (Kaldi's splice-feats at utterance edges).  When no
 * position is clamped the P source rows are adjacent in feats, so the output row is one linear
 * pass over P*C floats; rows are written with non-temporal stores (AVX-512) when aligned: a
 * minibatch is megabytes and is read once, later, by the first layer.  Same float32 operations
 * as splice_rows, so the results are identical. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f")))
static void norm_row_avx512(const float *src, const float *m, const float *s, float *dst,
                            Py_ssize_t len)
{
    Py_ssize_t k = 0;
    if (m) {
        while (k < len && ((uintptr_t)(dst + k) & 63)) { dst[k] = (src[k] - m[k]) / s[k]; k++; }
        for (; k + 16 <= len; k += 16) {
            __m512 v = _mm512_div_ps(_mm512_sub_ps(_mm512_loadu_ps(src + k), _mm512_loadu_ps(m + k)),
                                     _mm512_loadu_ps(s + k));
            _mm512_stream_ps(dst + k, v);
        }
        for (; k < len; k++) dst[k] = (src[k] - m[k]) / s[k];
    } else {
        while (k < len && ((uintptr_t)(dst + k) & 63)) { dst[k] = src[k]; k++; }
        for (; k + 16 <= len; k += 16) _mm512_stream_ps(dst + k, _mm512_loadu_ps(src + k));
        for (; k < len; k++) dst[k] = src[k];
    }
}
static int have_avx512f(void) { return __builtin_cpu_supports("avx512f"); }
#else
static void norm_row_avx512(const float *src, const float *m, const float *s, float *dst,
                            Py_ssize_t len) { (void)src; (void)m; (void)s; (void)dst; (void)len; }
static int have_avx512f(void) { return 0; }
#endif

static void norm_row(const float *src, const float *m, const float *s, float *dst, Py_ssize_t len,
                     int avx512)
{
    if (avx512) { norm_row_avx512(src, m, s, dst, len); return; }
    if (m) for (Py_ssize_t k = 0; k < len; k++) dst[k] = (src[k] - m[k]) / s[k];
    else memcpy(dst, src, (size_t)len * sizeof(float));
}

typedef struct {
    const float *feats, *mean, *sd;
    const int64_t *centre, *start, *end;
    float *out;
    Py_ssize_t n, c, b, p, left;
    int avx512, bad;
    long long badrow;
} centre_job_t;

static void splice_centre_rows(centre_job_t *j)
{
    Py_ssize_t c = j->c, p = j->p, w = p * c;
    for (Py_ssize_t r = 0; r < j->b; r++) {
        int64_t f = j->centre[r];
        if (f < 0 || f >= j->n) { j->bad = 1; j->badrow = (long long)f; return; }
        int64_t lo = j->start[f], hi = j->end[f] - 1, first = f - j->left;
        if (lo < 0 || hi >= j->n || lo > hi) { j->bad = 1; j->badrow = (long long)f; return; }
        float *dst = j->out + r * w;
        if (first >= lo && first + p - 1 <= hi) {          /* all P rows adjacent */
            norm_row(j->feats + first * c, j->mean, j->sd, dst, w, j->avx512);
            continue;
        }
        for (Py_ssize_t q = 0; q < p; q++) {
            int64_t row = first + q;
            row = row < lo ? lo : (row > hi ? hi : row);
            norm_row(j->feats + row * c, j->mean ? j->mean + q * c : NULL,
                     j->sd ? j->sd + q * c : NULL, dst + q * c, c, j->avx512);
        }
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (j->avx512) _mm_sfence();     /* streaming stores visible before the caller reads */
#endif
}

static void *centre_thread(void *arg) { splice_centre_rows(arg); return NULL; }

static PyObject *py_splice_centre(PyObject *self, PyObject *args)
{
    PyObject *of, *oc, *os0, *oe, *om, *osd, *oo;
    Py_ssize_t n, c, b, p, left;
    int nthreads = 1;
    if (!PyArg_ParseTuple(args, "OnnOOOnnnOOO|i", &of, &n, &c, &oc, &os0, &oe, &b, &p, &left,
                          &om, &osd, &oo, &nthreads))
        return NULL;
    PyObject *objs[7] = {of, oc, os0, oe, oo, om, osd};
    Py_buffer bufs[7];
    int got = 0, err = 0, have_norm = om != Py_None;
    int nbuf = have_norm ? 7 : 5;
    for (; got < nbuf; got++) {
        int flags = PyBUF_C_CONTIGUOUS | (got == 4 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[got], &bufs[got], flags) < 0) { err = 2; break; }
    }
    if (!err && (bufs[0].len < n * c * 4 || bufs[1].len < b * 8 || bufs[2].len < n * 8 ||
                 bufs[3].len < n * 8 || bufs[4].len < b * p * c * 4 ||
                 (have_norm && (bufs[5].len < p * c * 4 || bufs[6].len < p * c * 4))))
        err = 1;
    int bad = 0;
    long long badrow = 0;
    if (!err) {
        centre_job_t j1 = {bufs[0].buf, have_norm ? bufs[5].buf : NULL,
                           have_norm ? bufs[6].buf : NULL, bufs[1].buf, bufs[2].buf, bufs[3].buf,
                           bufs[4].buf, n, c, b, p, left, have_avx512f(), 0, 0};
        Py_BEGIN_ALLOW_THREADS
        if (nthreads > 1 && b >= 64) {     /* rows split in two: a second thread, this one */
            centre_job_t j2 = j1;
            Py_ssize_t half = b / 2;
            j1.b = half;
            j2.b = b - half;
            j2.centre += half;
            j2.out += half * p * c;
            pthread_t tid;
            int started = pthread_create(&tid, NULL, centre_thread, &j2) == 0;
            splice_centre_rows(&j1);
            if (started) pthread_join(tid, NULL);
            else splice_centre_rows(&j2);
            if (!j1.bad && j2.bad) { j1.bad = 1; j1.badrow = j2.badrow; }
        } else {
            splice_centre_rows(&j1);
        }
        Py_END_ALLOW_THREADS
        bad = j1.bad;
        badrow = j1.badrow;
    }
    for (int k = 0; k < got; k++) PyBuffer_Release(&bufs[k]);
    if (err == 2) return NULL;
    if (err) { PyErr_SetString(PyExc_ValueError, "splice_centre: buffer too small for the sizes"); return NULL; }
    if (bad) {
        PyErr_Format(PyExc_IndexError, "splice_centre: frame %lld or its utterance bounds out of "
                     "range [0, %zd)", badrow, n);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_front_end(PyObject *self, PyObject *args)
{
    PyObject *ox, *ol, *osc, *oof, *ot, *oo;
    Py_ssize_t n, c, u, order, half;
    if (!PyArg_ParseTuple(args, "OnnOnOOOnnO", &ox, &n, &c, &ol, &u, &osc, &oof, &ot, &order,
                          &half, &oo))
        return NULL;
    Py_buffer bx, bl, bsc = {0}, bof = {0}, bt, bo;
    int have_sc = osc != Py_None, have_of = oof != Py_None, err = 0;
    Py_ssize_t width = 2 * half + 1, oc = c * (order + 1);
    if (PyObject_GetBuffer(ox, &bx, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(ol, &bl, PyBUF_C_CONTIGUOUS) < 0) { PyBuffer_Release(&bx); return NULL; }
    if (PyObject_GetBuffer(ot, &bt, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&bl); PyBuffer_Release(&bx); return NULL;
    }
    if (PyObject_GetBuffer(oo, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bt); PyBuffer_Release(&bl); PyBuffer_Release(&bx); return NULL;
    }
    if (have_sc && PyObject_GetBuffer(osc, &bsc, PyBUF_C_CONTIGUOUS) < 0) { have_sc = 0; err = 2; }
    if (!err && have_of && PyObject_GetBuffer(oof, &bof, PyBUF_C_CONTIGUOUS) < 0) { have_of = 0; err = 2; }
    if (!err && (bx.len < n * c * 4 || bl.len < u * 8 || bt.len < order * width * 4 ||
                 bo.len < n * oc * 4 || (have_sc && bsc.len < u * c * 4) ||
                 (have_of && bof.len < u * c * 4)))
        err = 1;
    if (!err) {
        const float *x = bx.buf, *sc = have_sc ? bsc.buf : NULL, *of = have_of ? bof.buf : NULL;
        const float *taps = bt.buf;
        const int64_t *len = bl.buf;
        float *out = bo.buf;
        Py_ssize_t total = 0;
        for (Py_ssize_t k = 0; k < u; k++) total += len[k];
        if (total != n) err = 1;
        if (!err) {
            Py_BEGIN_ALLOW_THREADS
            Py_ssize_t t0 = 0;
            for (Py_ssize_t k = 0; k < u; k++) {
                Py_ssize_t T = len[k];
                for (Py_ssize_t t = 0; t < T; t++) {          /* CMVN into block 0 */
                    const float *src = x + (t0 + t) * c;
                    float *dst = out + (t0 + t) * oc;
                    if (sc) {
                        for (Py_ssize_t d = 0; d < c; d++) {
                            float v = src[d] * sc[k * c + d];
                            dst[d] = v + of[k * c + d];
                        }
                    } else if (of) {
                        for (Py_ssize_t d = 0; d < c; d++) dst[d] = src[d] + of[k * c + d];
                    } else {
                        memcpy(dst, src, (size_t)c * sizeof(float));
                    }
                }
                for (Py_ssize_t i = 1; i <= order; i++) {    /* deltas from block 0 */
                    const float *tp = taps + (i - 1) * width;
                    Py_ssize_t hi = i * (half / order);       /* this order's half width */
                    for (Py_ssize_t t = 0; t < T; t++) {
                        float *dst = out + (t0 + t) * oc + i * c;
                        int first = 1;
                        for (Py_ssize_t j = -hi; j <= hi; j++) {
                            float s = tp[j + half];
                            if (s == 0.0f) continue;
                            Py_ssize_t r = t + j < 0 ? 0 : (t + j >= T ? T - 1 : t + j);
                            const float *src = out + (t0 + r) * oc;
                            if (first) {     /* Kaldi adds to a zeroed row: 0 + (-0) = +0 */
                                for (Py_ssize_t d = 0; d < c; d++) {
                                    float p = src[d] * s;
                                    dst[d] = 0.0f + p;
                                }
                                first = 0;
                            } else {
                                for (Py_ssize_t d = 0; d < c; d++) {
                                    float p = src[d] * s;
                                    dst[d] = dst[d] + p;
                                }
                            }
                        }
                        if (first) memset(dst, 0, (size_t)c * sizeof(float));
                    }
                }
                t0 += T;
            }
            Py_END_ALLOW_THREADS
        }
    }
    if (have_of) PyBuffer_Release(&bof);
    if (have_sc) PyBuffer_Release(&bsc);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bl);
    PyBuffer_Release(&bx);
    if (err == 2) return NULL;
    if (err) { PyErr_SetString(PyExc_ValueError, "front_end: buffer sizes do not match"); return NULL; }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"front_end", py_front_end, METH_VARARGS,
     "front_end(x, n, c, lens, u, scale, offset, taps, order, half, out): CMVN + deltas of a "
     "chunk of u utterances (see the file header); taps: order x (2*half+1) float32, centred."},
    {"splice_centre", py_splice_centre, METH_VARARGS,
     "splice_centre(feats, n, c, centre, start, end, b, p, left, mean, std, out, nthreads=1): "
     "the rows of splice_norm for index[b, q] = clamp(centre[b] + q - left, start[centre[b]], "
     "end[centre[b]] - 1); start/end: int64 per feats row."},
    {"splice_norm", py_splice_norm, METH_VARARGS,
     "splice_norm(feats, n, c, index, b, p, mean, std, out, nthreads=1): out[b, p*c + k] = "
     "(feats[index[b, p], k] - mean[p*c + k]) / std[p*c + k] (float32; mean/std None: gather); "
     "nthreads 2 splits the rows over two threads."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_splice",
                                    "Fused splice gather + normalisation (bnn/data/batched.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__splice(void) { return PyModule_Create(&moddef); }
