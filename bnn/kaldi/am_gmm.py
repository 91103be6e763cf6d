"""Kaldi's ``AmDiagGmm`` (one diagonal-covariance GMM per pdf) as numpy arrays.

Specification: Kaldi ``gmm/am-diag-gmm.cc`` (``Read``/``Write``) and ``gmm/diag-gmm.cc``
(``Read``/``Write``/``ComputeGconsts``/``LogLikelihoods``).

File layout (after the transition model in ``final.mdl``)::

    <DIMENSION> 39 <NUMPDFS> 33
    <DiagGMM>                       (per pdf)
    <GCONSTS>  [ ... ]              float vector, one per Gaussian
    <WEIGHTS>  [ ... ]              float vector
    <MEANS_INVVARS>  [ ... ]        float matrix (gauss x dim): mean / var
    <INV_VARS>  [ ... ]             float matrix: 1 / var
    </DiagGMM>

Kaldi recomputes the gconsts on reading (the stored ones are ignored), so we do too:
``gconst_i = log w_i - 0.5 D log(2 pi) + sum_d (0.5 log iv_id - 0.5 miv_id^2 / iv_id)``
with Kaldi's float/double mix (``BaseFloat`` accumulator, double per-dimension term, ``logf``),
so that the bytes we write equal Kaldi's.  The log-likelihood of frame ``x`` under pdf ``j`` is
``logsumexp_i(gconst_i + miv_i . x - 0.5 iv_i . x^2)``.
"""
import ctypes
import ctypes.util
from dataclasses import dataclass

import numpy as np

from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.utils.errors import BnnError

M_LOG_2PI = 1.8378770664093454835606594728112


def _make_logf():
    """C ``logf`` (what Kaldi's ``Log(float)`` calls), vectorised; numpy float32 log otherwise."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        fn = libm.logf
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]
    except (OSError, AttributeError):
        return lambda a: np.log(np.asarray(a, dtype=np.float32))

    def logf(a):
        a = np.asarray(a, dtype=np.float32)
        flat = [fn(v) for v in a.ravel().tolist()]
        return np.array(flat, dtype=np.float32).reshape(a.shape)
    return logf


logf = _make_logf()


@dataclass
class DiagGmm:
    """One pdf's GMM: ``weights`` (G,), ``means_invvars`` (G, D), ``inv_vars`` (G, D), float32."""
    weights: np.ndarray
    means_invvars: np.ndarray
    inv_vars: np.ndarray
    gconsts: np.ndarray = None

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.float32)
        self.means_invvars = np.asarray(self.means_invvars, dtype=np.float32)
        self.inv_vars = np.asarray(self.inv_vars, dtype=np.float32)
        if self.gconsts is None:
            self.compute_gconsts()

    @classmethod
    def from_means_vars(cls, weights, means, variances) -> "DiagGmm":
        inv_vars = (1.0 / np.asarray(variances, dtype=np.float64)).astype(np.float32)
        miv = (np.asarray(means, dtype=np.float64) * inv_vars).astype(np.float32)
        return cls(weights, miv, inv_vars)

    @property
    def num_gauss(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return int(self.inv_vars.shape[1]) if self.inv_vars.ndim == 2 else 0

    @property
    def means(self) -> np.ndarray:
        return (self.means_invvars.astype(np.float64) / self.inv_vars).astype(np.float32)

    @property
    def variances(self) -> np.ndarray:
        return (1.0 / self.inv_vars.astype(np.float64)).astype(np.float32)

    def compute_gconsts(self) -> None:
        """Kaldi ``DiagGmm::ComputeGconsts`` with the same float32/double rounding steps."""
        if np.any(self.weights < 0):
            raise BnnError("GMM has a negative weight")
        offset = np.float32(-0.5 * M_LOG_2PI * self.dim)
        with np.errstate(divide="ignore"):
            gc = (logf(self.weights) + offset).astype(np.float32)  # float + float
        if self.num_gauss:
            log_iv = logf(self.inv_vars).astype(np.float64)
            miv = self.means_invvars.astype(np.float64)
            iv = self.inv_vars.astype(np.float64)
            for d in range(self.dim):
                term = 0.5 * log_iv[:, d] - 0.5 * miv[:, d] * miv[:, d] / iv[:, d]
                gc = (gc.astype(np.float64) + term).astype(np.float32)
        if np.any(np.isnan(gc)):
            raise BnnError("GMM gconst is NaN (bad variances?)")
        gc = np.where(np.isinf(gc) & (gc > 0), -gc, gc).astype(np.float32)
        self.gconsts = gc

    def log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """Per-Gaussian log-likelihoods (T, G) of a (T, D) feature matrix, in float64."""
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise BnnError(f"feature dimension {x.shape[-1]} does not match the GMM's {self.dim}")
        return (self.gconsts.astype(np.float64)[None, :]
                + x @ self.means_invvars.T.astype(np.float64)
                - 0.5 * (x * x) @ self.inv_vars.T.astype(np.float64))

    def log_likelihood(self, feats: np.ndarray) -> np.ndarray:
        """Per-frame log p(x) (T,) = logsumexp over Gaussians."""
        ll = self.log_likelihoods(feats)
        m = ll.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(ll - m).sum(axis=1, keepdims=True)))[:, 0]

    @classmethod
    def read(cls, r: KaldiReader) -> "DiagGmm":
        pos = r.pos
        tok = r.read_token()
        if tok not in ("<DiagGMM>", "<DiagGMMBegin>"):
            r.pos = pos
            raise r.error(f"expected <DiagGMM>, found {tok!r}")
        tok = r.read_token()
        if tok == "<GCONSTS>":
            r.read_vector(np.float32)  # ignored: recomputed below, as Kaldi does
            tok = r.read_token()
        if tok != "<WEIGHTS>":
            raise r.error(f"expected <WEIGHTS>, found {tok!r}")
        weights = r.read_vector(np.float32)
        r.expect_token("<MEANS_INVVARS>")
        miv = r.read_matrix(np.float32)
        r.expect_token("<INV_VARS>")
        iv = r.read_matrix(np.float32)
        tok = r.read_token()
        if tok not in ("</DiagGMM>", "<DiagGMMEnd>"):
            raise r.error(f"expected </DiagGMM>, found {tok!r}")
        if miv.shape != iv.shape or miv.shape[0] != weights.shape[0]:
            raise r.error(f"inconsistent GMM sizes: weights {weights.shape}, means {miv.shape}, "
                          f"inv_vars {iv.shape}")
        try:
            return cls(weights, miv, iv)
        except BnnError as err:
            raise r.error(str(err)) from None

    def write(self, w: KaldiWriter) -> None:
        w.write_token("<DiagGMM>")
        w.newline()
        w.write_token("<GCONSTS>")
        w.write_vector(self.gconsts.astype(np.float32))
        w.write_token("<WEIGHTS>")
        w.write_vector(self.weights)
        w.write_token("<MEANS_INVVARS>")
        w.write_matrix(self.means_invvars)
        w.write_token("<INV_VARS>")
        w.write_matrix(self.inv_vars)
        w.write_token("</DiagGMM>")
        w.newline()


class AmDiagGmm:
    """A list of :class:`DiagGmm`, one per pdf-id."""

    def __init__(self, pdfs=None, dim: int = None):
        self.pdfs = list(pdfs or [])
        if dim is None:
            dim = self.pdfs[0].dim if self.pdfs else 0
        self.dim = dim

    @property
    def num_pdfs(self) -> int:
        return len(self.pdfs)

    @property
    def num_gauss(self) -> int:
        return sum(p.num_gauss for p in self.pdfs)

    def log_likelihood(self, feats: np.ndarray, pdf: int) -> np.ndarray:
        """Per-frame log-likelihood (T,) of ``feats`` (T, D) under pdf ``pdf``."""
        return self.pdfs[pdf].log_likelihood(feats)

    def log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """(T, num_pdfs) log-likelihood matrix."""
        return np.stack([p.log_likelihood(feats) for p in self.pdfs], axis=1)

    @classmethod
    def read(cls, r: KaldiReader) -> "AmDiagGmm":
        r.expect_token("<DIMENSION>")
        dim = r.read_int()
        r.expect_token("<NUMPDFS>")
        n = r.read_int()
        if n < 0 or dim < 0:
            raise r.error(f"bad AmDiagGmm sizes: dim {dim}, pdfs {n}")
        pdfs = []
        for j in range(n):
            gmm = DiagGmm.read(r)
            if gmm.dim != dim:
                raise r.error(f"pdf {j} has dimension {gmm.dim}, model says {dim}")
            pdfs.append(gmm)
        return cls(pdfs, dim)

    def write(self, w: KaldiWriter) -> None:
        w.write_token("<DIMENSION>")
        w.write_int(self.dim)
        w.write_token("<NUMPDFS>")
        w.write_int(self.num_pdfs)
        for gmm in self.pdfs:
            gmm.write(w)
