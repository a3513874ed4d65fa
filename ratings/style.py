"""Style control: contextual Bradley-Terry with per-battle style features.

The logit of "A beats B" is ``theta_a - theta_b + x^T beta`` where ``x``
holds per-battle style differences ``(a - b) / (a + b + 1)`` of answer length,
markdown headers, list items and bold spans, z-scored over the battles
(Li, Chiang et al., "Does style matter? Disentangling style and substance
in Chatbot Arena", LMSYS blog, Aug 2024; lmarena/arena-rank
``ContextualBradleyTerry``).  The penalised objective follows arena-rank:
``-mean_k w_k ll_k + reg/2 ||beta||^2`` (+ optional ``l2/2 ||theta||^2`` on
the sum scale), solved by Newton with a sparse design: gradients by
``np.bincount`` over model indices and the Hessian assembled blockwise.
Battles are taken a block at a time (:data:`BlockSource`), so a fit over
battles read from elsewhere needs the memory of one block, not O(N k).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ratings.errors import RatingsFitError
from ratings.intervals import sandwich_covariance
from ratings.newton import MAX_NEWTON_ITER, maximize
from ratings.typing import FloatArray, IndexArray, IntArray

STYLE_FEATURES: tuple[str, ...] = ("length", "headers", "lists", "bold")
ARENA_RANK_STYLE_REG = 1.0
"""arena-rank's default ``reg`` on the style coefficients (mean-loss scale)."""
GROUP_REG = 0.5
"""OpenCompass's ``reg`` on its control variables (summed-loss scale)."""
HESSIAN_REG = 1e-5
"""Ridge on the coefficient block of the sandwich bread (mean-loss scale), as
arena-rank's ``hessian_reg``: keeps constant (all-zero) features invertible."""

_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+\.)\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def style_counts(text: str, *, length: str = "tokens") -> list[float]:
    """Raw style counts ``[length, headers, list items, bold spans]`` of an answer.

    ``length="tokens"`` counts word and punctuation tokens (a tokenizer-free
    approximation of BPE tokens); ``"chars"`` counts characters.
    """
    if length not in ("tokens", "chars"):
        raise ValueError(f"length must be 'tokens' or 'chars', got {length!r}")
    size = len(_TOKEN.findall(text)) if length == "tokens" else len(text)
    return [
        float(size),
        float(len(_HEADER.findall(text))),
        float(len(_LIST.findall(text))),
        float(len(_BOLD.findall(text))),
    ]


def assistant_text(conversation: str | Sequence[Mapping[str, Any]]) -> str:
    """The assistant turns of a conversation, one per line (a string is taken as is).

    Both OpenAI's ``"assistant"`` and ShareGPT / FastChat's ``"gpt"`` roles count.
    """
    if isinstance(conversation, str):
        return conversation
    if not isinstance(conversation, Sequence):
        raise TypeError("conversation must be a list of messages or a string")
    return "\n".join(
        str(msg.get("content", ""))
        for msg in conversation
        if isinstance(msg, Mapping) and msg.get("role") in ("assistant", "gpt")
    )


def style_features(counts_a: ArrayLike, counts_b: ArrayLike) -> FloatArray:
    """Style differences ``(a - b) / (a + b + 1)`` of raw counts (last axis: features)."""
    ca = np.asarray(counts_a, dtype=np.float64)
    cb = np.asarray(counts_b, dtype=np.float64)
    return np.asarray((ca - cb) / (ca + cb + 1.0))


def _metadata_counts(meta: Mapping[str, Any], side: str) -> list[float]:
    def total(key: str) -> float:
        val = meta.get(f"{key}_{side}", 0)
        return float(sum(val.values())) if isinstance(val, Mapping) else float(val)

    return [
        float(meta[f"sum_assistant_{side}_tokens"]),
        total("header_count"),
        total("list_count"),
        total("bold_count"),
    ]


def record_style_features(record: Mapping[str, Any], *, length: str = "tokens") -> list[float]:
    """Style features (:func:`style_features`) of one battle record.

    Uses LMArena's ``conv_metadata`` counts when present, else counts over the
    assistant turns of ``conversation_a`` / ``conversation_b``.

    Raises
    ------
    KeyError, TypeError
        The record has neither ``conv_metadata`` nor both conversations.
    """
    meta = record.get("conv_metadata")
    if isinstance(meta, Mapping) and "sum_assistant_a_tokens" in meta and length == "tokens":
        ca, cb = _metadata_counts(meta, "a"), _metadata_counts(meta, "b")
    else:
        ca = style_counts(assistant_text(record["conversation_a"]), length=length)
        cb = style_counts(assistant_text(record["conversation_b"]), length=length)
    return [float(v) for v in style_features(ca, cb)]


def group_indicators(
    codes: ArrayLike, labels: Sequence[str], name: str
) -> tuple[FloatArray, tuple[str, ...]]:
    """One 0/1 column per level present in *codes* (indices into *labels*), named
    ``name=label``, for a contextual fit's group covariates.

    Every level keeps its column (none is dropped as a reference): the
    Bradley-Terry logit has no intercept, so the columns are identified, and
    each coefficient reads on its own as the log-odds that answer A (the one
    shown first) wins in that group beyond the two ratings and the style, as
    OpenCompass's ``groups`` (one-hot control variables, ``drop_first=False``).
    """
    c = np.asarray(codes, dtype=np.int64)
    if c.ndim != 1 or (c.size and (c.min() < 0 or c.max() >= len(labels))):
        raise ValueError("codes must be a 1-d array of indices into labels")
    present = np.flatnonzero(np.bincount(c, minlength=len(labels)))
    x = (c[:, None] == present[None, :]).astype(np.float64)
    return x, tuple(f"{name}={labels[int(k)]}" for k in present)


def standardize(features: FloatArray) -> FloatArray:
    """Z-score columns (population std; constant columns are only centred)."""
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    return np.asarray((features - mean) / np.where(std == 0.0, 1.0, std))


BLOCK_ROWS = 1 << 20
"""Battles per block of a contextual fit: per-battle temporaries are this long."""

Block = tuple[IndexArray, IndexArray, FloatArray, FloatArray, FloatArray]
"""Some battles of a contextual fit: ``(a, b, y, w, x)`` as in :func:`fit_contextual`."""
BlockSource = Callable[[], Iterable[Block]]
"""Called once per pass over the battles; yields their blocks, the same each time."""


class _Design:
    """Sparse contextual design ``[e_a - e_b, x]`` of one block, with blockwise products.

    Battles are addressed by their ordered pair ``key = a * m + b``, so model
    terms cost one gather from an ``m x m`` table and one ``np.bincount``.
    Features are held transposed (``k x n``, rows contiguous), centred by
    ``mean`` and divided by ``scale`` (zero and one for columns left as they are).
    """

    def __init__(self, a: IndexArray, b: IndexArray, x: FloatArray, m: int,
                 mean: FloatArray | None = None, scale: FloatArray | None = None) -> None:
        self.a, self.b, self.m = a.astype(np.int64), b.astype(np.int64), m
        self.xt = np.array(x.T, dtype=np.float64, order="C")
        k = x.shape[1]
        mean = np.zeros(k) if mean is None else mean
        scale = np.ones(k) if scale is None else scale
        for row, centre, unit in zip(self.xt, mean, scale, strict=True):
            if centre:
                row -= centre
            if unit != 1.0:
                row /= unit
        self.k = k
        self.key = self.a * m + self.b
        self._tmp = np.empty(a.shape[0])

    def eta(self, theta: FloatArray, beta: FloatArray, out: FloatArray) -> FloatArray:
        diff = (theta[:, None] - theta[None, :]).ravel()
        np.take(diff, self.key, out=out)
        for c in range(self.k):
            np.multiply(self.xt[c], beta[c], out=self._tmp)
            out += self._tmp
        return out

    def _pair_sum(self, v: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(self.key, v, self.m * self.m).reshape(self.m, self.m))

    def t_vec(self, r: FloatArray) -> FloatArray:
        """``X^T r`` for the full design."""
        rp = self._pair_sum(r)
        return np.concatenate([rp.sum(axis=1) - rp.sum(axis=0), self.xt @ r])

    def t_mat(self, h: FloatArray) -> FloatArray:
        """``X^T diag(h) X`` assembled blockwise."""
        m, k = self.m, self.k
        hp = self._pair_sum(h)
        s = hp + hp.T
        out = np.zeros((m + k, m + k))
        out[:m, :m] = np.diag(s.sum(axis=1)) - s
        for c in range(k):
            hx = np.multiply(self.xt[c], h, out=self._tmp)
            col = np.bincount(self.a, hx, m) - np.bincount(self.b, hx, m)
            out[:m, m + c] = col
            out[m + c, :m] = col
            out[m:, m + c] = self.xt @ hx
        return out


def _variance(prob: FloatArray, w: FloatArray, out: FloatArray) -> FloatArray:
    """Weighted Bernoulli variances ``w p (1 - p)``, written into ``out``."""
    np.subtract(1.0, prob, out=out)
    out *= prob
    out *= w
    return out


class _Rows:
    """The battles of one contextual fit as blocks of designs.

    From arrays (``cached``), each block's design is built once and its win
    probabilities kept between the objective and its derivatives, as one
    design over every battle would. From a :data:`BlockSource`, the blocks are
    read again at every pass and nothing per battle outlives its block, so the
    memory of a fit is that of one block, whatever the number of battles.
    """

    def __init__(self, source: BlockSource, m: int, k: int, scaled: NDArray[np.bool_],
                 moments: tuple[FloatArray, FloatArray] | None, cached: bool) -> None:
        self.source, self.m, self.k = source, m, k
        n, total, mean, m2 = 0, 0.0, np.zeros(k), np.zeros(k)
        longest = 0
        for _a, _b, y, w, x in source():  # counts and column moments (Chan et al. merge)
            nb = y.shape[0]
            longest = max(longest, nb)
            total += float(np.sum(w))
            if moments is None and nb:
                bmean = x.mean(axis=0)
                bm2 = ((x - bmean) ** 2).sum(axis=0)
                delta = bmean - mean
                mean = mean + delta * nb / (n + nb)
                m2 = m2 + bm2 + delta**2 * n * nb / (n + nb)
            n += nb
        if moments is not None:
            mean, std = moments
        else:
            std = np.sqrt(m2 / max(n, 1))
        self.n, self.weight = n, total
        self.mean = np.where(scaled, mean, 0.0)
        self.scale = np.where(scaled & (std > 0), std, 1.0)
        self.buffers = np.empty((5, longest))
        self._cache: list[tuple[_Design, FloatArray, FloatArray]] | None = None
        self._prob: list[FloatArray] | None = None
        if cached:
            self._cache = list(self._blocks())
            self._prob = [np.empty(y.shape[0]) for _, y, _ in self._cache]

    def _blocks(self) -> Iterator[tuple[_Design, FloatArray, FloatArray]]:
        if self._cache is not None:
            yield from self._cache
            return
        for a, b, y, w, x in self.source():
            yield _Design(a, b, x, self.m, self.mean, self.scale), y, w

    def _probabilities(self, d: _Design, p: FloatArray, y: FloatArray, w: FloatArray,
                       prob: FloatArray | None = None) -> tuple[float, FloatArray]:
        """``sum w (y eta - softplus(eta))`` of one block, and its win probabilities
        (written into *prob*, else a buffer valid until the next block)."""
        nb = y.shape[0]
        eta, e, tmp = (buf[:nb] for buf in self.buffers[:3])
        prob = self.buffers[3][:nb] if prob is None else prob
        d.eta(p[: self.m], p[self.m :], eta)
        np.abs(eta, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e = exp(-|eta|)
        np.log1p(e, out=tmp)
        np.maximum(eta, 0.0, out=prob)
        np.add(prob, tmp, out=prob)  # softplus(eta)
        np.multiply(y, eta, out=tmp)
        f = float(w @ tmp) - float(w @ prob)
        np.add(e, 1.0, out=tmp)
        np.copyto(prob, e)
        prob[eta >= 0.0] = 1.0
        np.divide(prob, tmp, out=prob)  # sigmoid(eta)
        return f, prob

    def loglik(self, p: FloatArray) -> float:
        total = 0.0
        for k, (d, y, w) in enumerate(self._blocks()):
            kept = None if self._prob is None else self._prob[k]
            total += self._probabilities(d, p, y, w, kept)[0]
        return total

    def derivatives(self, p: FloatArray, *, sandwich: bool = False
                    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """``X^T w (y - p)`` and ``X^T diag(w p (1 - p)) X`` at *p* (cached: at the point
        of the last :meth:`loglik`), and with *sandwich* the meat ``X^T diag((w (y -
        p))^2) X``."""
        size = self.m + self.k
        grad, hess = np.zeros(size), np.zeros((size, size))
        meat = np.zeros((size, size)) if sandwich else None
        for k, (d, y, w) in enumerate(self._blocks()):
            if self._prob is not None:
                prob = self._prob[k]
            else:
                prob = self._probabilities(d, p, y, w)[1]
            work = self.buffers[4][: y.shape[0]]
            np.subtract(y, prob, out=work)
            np.multiply(work, w, out=work)
            grad += d.t_vec(work)
            if meat is not None:
                work *= work
                meat += d.t_mat(work)
            hess += d.t_mat(_variance(prob, w, work))
        return grad, hess, meat


def fit_contextual(a: IndexArray, b: IndexArray, y: FloatArray, w: FloatArray, x: FloatArray,
                   n_models: int, **options: Any
                   ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """:func:`fit_contextual_blocks` of battles held as arrays: ``a``, ``b`` (model
    indices), ``y`` (1 if A won, 0 if B won, 0.5 for a tie), ``w`` (weights) of shape
    (n,) and the features ``x`` of shape (n, k)."""
    n = y.shape[0]

    def blocks() -> Iterator[Block]:
        for lo in range(0, n, BLOCK_ROWS):
            sl = slice(lo, lo + BLOCK_ROWS)
            yield a[sl], b[sl], y[sl], w[sl], x[sl]

    if options.get("standardize") and n:
        options["moments"] = (x.mean(axis=0), x.std(axis=0))
    return fit_contextual_blocks(blocks, n_models, x.shape[1], keep_blocks=True, **options)


def fit_contextual_blocks(
    blocks: BlockSource,
    n_models: int,
    n_features: int,
    *,
    reg: float = ARENA_RANK_STYLE_REG,
    l2: float = 0.0,
    projector: FloatArray | None = None,
    hessian_prior: bool = False,
    covariance: bool = True,
    theta0: FloatArray | None = None,
    standardize: bool = False,
    indicators: int = 0,
    indicator_reg: float = GROUP_REG,
    max_iter: int = MAX_NEWTON_ITER,
    moments: tuple[FloatArray, FloatArray] | None = None,
    keep_blocks: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Fit contextual Bradley-Terry and its sandwich covariance, over battles read a block
    at a time from *blocks*: a pass per Newton step and line-search step.

    Parameters
    ----------
    blocks : callable
        Yields blocks ``(a, b, y, w, x)``: model indices per battle; 1 if A won,
        0 if B won, 0.5 for a tie; battle weights; features with *n_features*
        columns (:data:`BlockSource`).
    reg : float
        L2 strength on ``beta`` on the mean-loss scale (arena-rank's ``reg``).
    l2 : float
        L2 prior precision on ``theta`` on the summed-loss scale.
    projector : ndarray, optional
        Null-space projector of the rating block (required if ``l2 == 0``).
    hessian_prior : bool
        Include the ``beta`` prior in the sandwich "bread".  arena-rank 0.1.1
        leaves it out; ``False`` reproduces its intervals.  The ``theta`` prior
        (``l2 > 0``) is always in the bread.
    covariance : bool
        Compute the sandwich covariance (skipped, returning ``None``, for
        bootstrap replicates).
    standardize : bool
        Z-score the feature columns first (as :func:`standardize`, without
        copying the data twice); group indicators stay 0/1.
    indicators : int
        How many of the last columns are group indicators
        (:func:`group_indicators`).
    indicator_reg : float
        L2 strength on the indicators' coefficients on the summed-loss scale
        (OpenCompass's ``reg=0.5``): a light prior, so ``exp(coefficient)``
        reads as the group's odds ratio, not shrunk towards 1 as ``reg`` on the
        mean-loss scale would.
    theta0 : ndarray, shape (m,), optional
        Starting ratings, e.g. the plain Bradley-Terry fit (``beta`` starts
        at 0); saves Newton steps on large data.
    moments : (ndarray, ndarray), optional
        The feature columns' means and standard deviations, when known (else
        computed in a first pass).
    keep_blocks : bool
        Build each block's design once and keep it (battles already in memory);
        otherwise nothing per battle outlives its block.

    Returns
    -------
    theta : ndarray, shape (m,)
    beta : ndarray, shape (k,)
    cov : ndarray, shape (m + k, m + k), or None
        Sandwich covariance of ``(theta, beta)``.

    Raises
    ------
    RatingsFitError
        If Newton does not converge.
    """
    m, k = n_models, n_features
    if not 0 <= indicators <= k:
        raise ValueError("indicators must be between 0 and the number of feature columns")
    scaled = np.arange(k) < k - indicators if standardize else np.zeros(k, dtype=bool)
    rows = _Rows(blocks, m, k, scaled, moments, keep_blocks)
    n = rows.n
    prior = np.concatenate(
        [np.full(m, l2), np.full(k - indicators, reg * n), np.full(indicators, indicator_reg)])
    ridge = np.diag(prior)
    if l2 == 0.0:
        if projector is None:
            raise ValueError("projector is required when l2 == 0")
        ridge[:m, :m] += projector
    params = np.zeros(m + k)
    if theta0 is not None:
        params[:m] = theta0

    def value(p: FloatArray, _rows: IntArray) -> FloatArray:
        return np.array([rows.loglik(p[0]) - 0.5 * float(np.dot(prior * p[0], p[0]))])

    def derivatives(p: FloatArray, _rows: IntArray) -> tuple[FloatArray, FloatArray]:
        grad, hess, _ = rows.derivatives(p[0])
        return (grad - prior * p[0])[None], hess[None]

    x, converged = maximize(
        value, derivatives, params[None], ridge=ridge, scale=rows.weight, max_iter=max_iter
    )
    if not converged[0]:
        raise RatingsFitError(f"contextual Bradley-Terry did not converge in {max_iter} steps")
    params = x[0]
    theta, beta = params[:m], params[m:]
    if not covariance:
        return theta, beta, None
    _grad, bread, meat = rows.derivatives(params, sandwich=True)
    assert meat is not None
    bread[m:, m:] += HESSIAN_REG * n * np.eye(k)
    if l2 > 0.0:
        # With no projector, the rating prior is what makes the bread invertible
        # (ratings are otherwise only identified up to a common shift).
        bread[:m, :m] += l2 * np.eye(m)
    if hessian_prior:
        bread[m:, m:] += np.diag(prior[m:])
    meat -= np.outer(prior * params, prior * params) / n
    kproj = None
    if l2 == 0.0 and projector is not None:
        kproj = np.zeros((m + k, m + k))
        kproj[:m, :m] = projector
    return theta, beta, sandwich_covariance(bread, meat, kproj)


__all__ = [
    "ARENA_RANK_STYLE_REG",
    "STYLE_FEATURES",
    "assistant_text",
    "BLOCK_ROWS",
    "Block",
    "BlockSource",
    "fit_contextual",
    "fit_contextual_blocks",
    "group_indicators",
    "record_style_features",
    "standardize",
    "style_counts",
    "style_features",
]
