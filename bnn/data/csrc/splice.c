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
    {"splice_norm", py_splice_norm, METH_VARARGS,
     "splice_norm(feats, n, c, index, b, p, mean, std, out, nthreads=1): out[b, p*c + k] = "
     "(feats[index[b, p], k] - mean[p*c + k]) / std[p*c + k] (float32; mean/std None: gather); "
     "nthreads 2 splits the rows over two threads."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_splice",
                                    "Fused splice gather + normalisation (bnn/data/batched.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__splice(void) { return PyModule_Create(&moddef); }
