"""Comparison-graph structure: connected components and MLE existence.

Bradley-Terry ratings are only identified up to one additive constant per
connected component of the comparison graph, and the (unpenalised) maximum
likelihood estimate exists only when, within each component, the directed
"i beat j" graph is strongly connected (Zermelo 1929; Ford 1957, "Solution of
a ranking problem from binary comparisons", Amer. Math. Monthly 64(8)).
"""

from __future__ import annotations

import numpy as np

from ratings.typing import BoolArray, FloatArray, IntArray


def _find_components(n: int, src: IntArray, dst: IntArray) -> IntArray:
    """Label vertices by weakly connected component (vectorised min-label propagation)."""
    lab = np.arange(n, dtype=np.int64)
    while True:
        new = lab.copy()
        np.minimum.at(new, src, lab[dst])
        np.minimum.at(new, dst, lab[src])
        new = new[new]
        if np.array_equal(new, lab):
            break
        lab = new
    _, labels = np.unique(lab, return_inverse=True)
    return labels.astype(np.int64)


def component_labels(n_models: int, i: IntArray, j: IntArray) -> IntArray:
    """Connected-component label of each model, numbered by first member.

    Parameters
    ----------
    n_models : int
    i, j : ndarray of int
        Endpoints of the compared pairs.

    Returns
    -------
    ndarray of int64, shape (n_models,)
        ``0 .. n_components - 1``; component 0 holds model 0.
    """
    return _find_components(n_models, i, j)


def components(labels: IntArray) -> list[IntArray]:
    """Model indices of each component, largest first."""
    groups = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    return sorted(groups, key=lambda g: (-g.shape[0], int(g[0])))


def component_projector(labels: IntArray) -> FloatArray:
    """Orthogonal projector onto the span of the component indicator vectors.

    It spans the null space of the Bradley-Terry Hessian; adding it makes the
    Hessian invertible while leaving steps orthogonal to it unchanged.
    """
    n = labels.shape[0]
    k = np.zeros((n, n))
    for g in components(labels):
        k[np.ix_(g, g)] = 1.0 / g.shape[0]
    return k


def _reachable(n: int, src: IntArray, dst: IntArray, start: int) -> BoolArray:
    """Vertices reachable from ``start`` along directed edges ``src -> dst``."""
    seen = np.zeros(n, dtype=bool)
    seen[start] = True
    while True:
        new = seen.copy()
        new[dst[seen[src]]] = True
        if np.array_equal(new, seen):
            return seen
        seen = new


def mle_obstruction(
    n_models: int, beats_src: IntArray, beats_dst: IntArray, labels: IntArray
) -> tuple[int, list[int], list[int]] | None:
    """Why Ford's condition fails, or ``None`` when the MLE exists.

    Parameters
    ----------
    beats_src, beats_dst : ndarray of int
        Directed edges ``src -> dst`` meaning "src beat dst at least once"
        (a tie counts as a win both ways under half-win ties).
    labels : ndarray of int
        Component labels from :func:`component_labels`.

    Returns
    -------
    (root, never_beat_root, root_never_beat) or None
        For the first component that is not strongly connected: its first
        model, the members that never beat it (even through others), and the
        members it never beat (even through others).
    """
    for g in components(labels):
        if g.shape[0] < 2:
            continue
        root = int(g[0])
        fwd = _reachable(n_models, beats_src, beats_dst, root)
        bwd = _reachable(n_models, beats_dst, beats_src, root)
        if fwd[g].all() and bwd[g].all():
            continue
        return root, [int(x) for x in g if not bwd[x]], [int(x) for x in g if not fwd[x]]
    return None


__all__ = ["component_labels", "component_projector", "components", "mle_obstruction"]
