"""Generate the golden reference results used by tests/ratings/test_golden.py.

Runs OUTSIDE the project venv, in the benchmark venv that holds arena-rank
(JAX, pins numpy), choix and scikit-learn.  From the repository root::

    .venv/bin/python benchmarks/bench_ratings.py --setup-only   # creates .cache/bench-venv
    .cache/bench-venv/bin/python tests/ratings/golden/make_golden.py

It writes ``arena_rank_golden.json`` (seeded synthetic data + arena-rank 0.1.1
ratings, sandwich bounds and style coefficients) and ``genai_sklearn_golden.json``
(FastChat's scikit-learn fit of the GenAI-Arena 2024-02-20 battles, both at the
scikit-learn defaults that produced the published leaderboard and converged).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2].parent / "shared" / "data" / "genai-arena-20240220"
WINNERS = np.array(["model_a", "model_b", "tie"])


def synth(seed: int, n_models: int, n_battles: int, n_features: int) -> dict[str, list]:
    """Seeded battles with model-dependent style (verbose models) and ties."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.6, n_models)
    verb = rng.normal(0.0, 1.0, (n_models, n_features))
    a = rng.integers(0, n_models, n_battles)
    b = (a + rng.integers(1, n_models, n_battles)) % n_models
    raw = np.round(0.4 * (verb[a] - verb[b]) + rng.normal(0, 1, (n_battles, n_features)), 3)
    beta = np.linspace(0.4, -0.2, n_features)
    z = (raw - raw.mean(0)) / raw.std(0)
    d = theta[a] - theta[b] + z @ beta
    u = rng.random(n_battles)
    pa = 1 / (1 + np.exp(-d))
    tie = u < 0.15
    win_a = rng.random(n_battles) < pa
    out = np.where(tie, 2, np.where(win_a, 0, 1))
    return {"a": a.tolist(), "b": b.tolist(), "outcome": out.tolist(), "features": raw.tolist()}


def aggregate_synth(seed: int, n_models: int, n_battles: int) -> dict[str, list]:
    """Battles without features, stored as counts per unordered pair (BT ignores row order)."""
    d = synth(seed, n_models, n_battles, 1)
    a, b, o = (np.asarray(d[key]) for key in ("a", "b", "outcome"))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    col = np.where((a > b) & (o < 2), 1 - o, o)
    cnt = np.zeros((n_models, n_models, 3), dtype=int)
    np.add.at(cnt, (lo, hi, col), 1)
    i, j = np.nonzero(cnt.sum(axis=2))
    return {"pairs": [[int(x), int(y), *map(int, cnt[x, y])] for x, y in zip(i, j, strict=True)]}


def expand(agg: dict[str, list]) -> dict[str, list]:
    a: list[int] = []
    b: list[int] = []
    out: list[int] = []
    for i, j, wi, wj, t in agg["pairs"]:
        for code, c in ((0, wi), (1, wj), (2, t)):
            a += [i] * c
            b += [j] * c
            out += [code] * c
    return {"a": a, "b": b, "outcome": out, "features": [[0.0]] * len(a)}


def frame(d: dict[str, list], n_models: int) -> pd.DataFrame:
    names = [f"m{k:02d}" for k in range(n_models)]
    df = pd.DataFrame(
        {
            "model_a": [names[k] for k in d["a"]],
            "model_b": [names[k] for k in d["b"]],
            "winner": WINNERS[np.asarray(d["outcome"])],
        }
    )
    feats = np.asarray(d["features"])
    for k in range(feats.shape[1]):
        df[f"f{k}"] = feats[:, k]
    return df


def arena_rank_cases() -> dict:
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset, PairDataset

    cases = []
    for name, seed, m, n, k in (("bt30", 11, 30, 60000, 0), ("ctx10", 12, 10, 2500, 4)):
        stored = aggregate_synth(seed, m, n) if k == 0 else synth(seed, m, n, k)
        d = expand(stored) if k == 0 else stored
        df = frame(d, m)
        case: dict = {"name": name, "n_models": m, "data": stored, "results": {}}
        for rw in (False, True):
            ds = PairDataset.from_pandas(df, reweighted=rw)
            res = BradleyTerry(n_competitors=len(ds.competitors)).compute_ratings_and_cis(
                ds, significance_level=0.05
            )
            case["results"][f"bt_reweighted={rw}"] = {
                "competitors": list(res["competitors"]),
                "ratings": np.asarray(res["ratings"]).tolist(),
                "lower": np.asarray(res["rating_lower"]).tolist(),
                "upper": np.asarray(res["rating_upper"]).tolist(),
            }
            if k == 0:
                continue
            cds = ContextualPairDataset.from_pandas(
                df, feature_cols=[f"f{j}" for j in range(k)], reweighted=rw
            )
            cm = ContextualBradleyTerry(n_competitors=len(cds.competitors), n_features=k)
            cres = cm.compute_ratings_and_cis(cds, significance_level=0.05)
            case["results"][f"ctx_reweighted={rw}"] = {
                "competitors": list(cres["competitors"]),
                "ratings": np.asarray(cres["ratings"]).tolist(),
                "lower": np.asarray(cres["rating_lower"]).tolist(),
                "upper": np.asarray(cres["rating_upper"]).tolist(),
                "coeffs": np.asarray(cres["coeffs"]).tolist(),
            }
        cases.append(case)
    return {
        "generator": "tests/ratings/golden/make_golden.py",
        "arena_rank": version("arena-rank"),
        "jax": version("jax"),
        "cases": cases,
    }


def sklearn_fastchat(df: pd.DataFrame, **kw: float) -> dict[str, float]:
    """FastChat/GenAI-Arena ``compute_elo_mle_with_tie`` at commit e4e4637."""
    from sklearn.linear_model import LogisticRegression

    df = pd.concat([df, df], ignore_index=True)
    models = pd.concat([df["model_a"], df["model_b"]]).unique()
    idx = pd.Series(np.arange(len(models)), index=models)
    n = df.shape[0]
    x = np.zeros([n, len(models)])
    x[np.arange(n), idx[df["model_a"]]] = +math.log(10)
    x[np.arange(n), idx[df["model_b"]]] = -math.log(10)
    y = np.zeros(n)
    y[(df["winner"] == "model_a").to_numpy()] = 1.0
    tie = ((df["winner"] == "tie") | (df["winner"] == "tie (bothbad)")).to_numpy().copy()
    tie[len(tie) // 2 :] = False
    y[tie] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(fit_intercept=False, **kw).fit(x, y)
    return {str(mn): float(400 * c + 1000) for mn, c in zip(models, lr.coef_[0], strict=True)}


def genai_cases() -> dict:
    import sklearn

    df = pd.read_json(DATA / "clean_battle_20240220.json").sort_values("tstamp")
    out: dict = {"sklearn": sklearn.__version__, "columns": {}}
    for col, sub in (("anony", df[df["anony"]]), ("full", df)):
        clean = sub[sub["model_a"] != sub["model_b"]]
        out["columns"][col] = {
            "sklearn_default": sklearn_fastchat(sub),
            "sklearn_converged_without_self_play": sklearn_fastchat(
                clean, tol=1e-12, max_iter=100000
            ),
        }
    return out


def main() -> int:
    (HERE / "arena_rank_golden.json").write_text(json.dumps(arena_rank_cases()) + "\n")
    if DATA.exists():
        (HERE / "genai_sklearn_golden.json").write_text(json.dumps(genai_cases(), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
