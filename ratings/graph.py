"""Comparison-graph structure: connected components and MLE existence.

Bradley-Terry ratings are only identified up to one additive constant per
connected component of the comparison graph, and the (unpenalised) maximum
likelihood estimate exists only when, within each component, the directed
"i beat j" graph is strongly connected (Zermelo 1929; Ford 1957, "Solution of
a ranking problem from binary comparisons", Amer. Math. Monthly 64(8)).
"""

from __future__ import annotations

import numpy as np

from ratings.typing import FloatArray, IntArray


def _find_components(n: int, src: IntArray, dst: IntArray) -> IntArray:
    """Label vertices by weakly connected component (union-find, path halving)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in zip(src.tolist(), dst.tolist(), strict=True):
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    roots = np.array([find(x) for x in range(n)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
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


def _reachable(n: int, adj: list[list[int]], start: int) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


def mle_obstruction(n_models: int, beats_src: IntArray, beats_dst: IntArray, labels: IntArray) -> list[int]:
    """Models that break Ford's condition, or ``[]`` when the MLE exists.

    Parameters
    ----------
    beats_src, beats_dst : ndarray of int
        Directed edges ``src -> dst`` meaning "src beat dst at least once"
        (a tie counts as a win both ways under half-win ties).
    labels : ndarray of int
        Component labels from :func:`component_labels`.

    Returns
    -------
    list of int
        Members of a component that is not strongly connected which cannot
        reach (or be reached from) that component's first model.
    """
    fwd: list[list[int]] = [[] for _ in range(n_models)]
    bwd: list[list[int]] = [[] for _ in range(n_models)]
    for u, v in zip(beats_src.tolist(), beats_dst.tolist(), strict=True):
        fwd[u].append(v)
        bwd[v].append(u)
    bad: list[int] = []
    for g in components(labels):
        if g.shape[0] < 2:
            continue
        root = int(g[0])
        both = _reachable(n_models, fwd, root) & _reachable(n_models, bwd, root)
        bad.extend(int(x) for x in g if int(x) not in both)
    return bad


__all__ = ["component_labels", "component_projector", "components", "mle_obstruction"]
