"""Benchmark the ratings engine against lmarena/arena-rank and choix on identical data.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_ratings.py --battles 5000000 --models 200 --seed 0

The first run creates a separate virtualenv (default ``.cache/bench-venv``)
with ``arena-rank choix scikit-learn``: arena-rank pins jax and numpy, so it
never goes into the project venv.  Every measured stage runs in its own
subprocess reading the same ``.npz`` of synthetic battles, so each peak RSS
(``ru_maxrss``) belongs to that stage alone; arena-rank's bootstrap uses a
``spawn`` multiprocessing context (it hangs with JAX + fork).  Only numpy and
the standard library are imported at module level (the file is re-imported
by spawned workers inside the arena-rank venv).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = ROOT / ".cache" / "bench-venv"
BENCH_PACKAGES = ("arena-rank", "choix", "scikit-learn")
WINNERS = np.array(["model_a", "model_b", "tie"])


def ensure_venv(venv: Path) -> Path:
    """Create the arena-rank venv if missing; return its python."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *BENCH_PACKAGES], check=True)
    return py


def make_data(path: Path, n: int, m: int, seed: int, k: int = 4) -> None:
    """Seeded synthetic battles with ties and model-dependent style features."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.6, m)
    verb = rng.normal(0.0, 1.0, (m, k))
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    raw = 0.4 * (verb[a] - verb[b]) + rng.normal(0.0, 1.0, (n, k))
    z = (raw - raw.mean(0)) / raw.std(0)
    d = theta[a] - theta[b] + z @ np.linspace(0.4, -0.2, k)
    tie = rng.random(n) < 0.15
    out = np.where(tie, 2, np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-d)), 0, 1))
    np.savez(
        path,
        a=a.astype(np.int32),
        b=b.astype(np.int32),
        outcome=out.astype(np.int8),
        features=raw,
        n_models=m,
    )


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, kids


def worker_ours(data: dict, stage: str, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from ratings import battles_from_arrays, compute_leaderboard

    m = int(data["n_models"])
    names = [f"m{i:03d}" for i in range(m)]
    t0 = time.perf_counter()
    bat = battles_from_arrays(
        data["a"].astype(np.int64),
        data["b"].astype(np.int64),
        data["outcome"],
        models=names,
        features=data["features"] if stage == "style" else None,
        feature_names=("length", "headers", "lists", "bold"),
    )
    kw: dict = {
        "sandwich": {},
        "bootstrap": {"ci": "bootstrap", "bootstrap_rounds": rounds},
        "style": {"style_control": True},
    }[stage]
    lb = compute_leaderboard(bat, **kw)
    secs = time.perf_counter() - t0
    res = {
        "seconds": secs,
        "ratings": [lb.row(x).rating for x in names],
        "lower": [lb.row(x).lower for x in names],
        "upper": [lb.row(x).upper for x in names],
        "coeffs": list(lb.style_coefficients.values()),
    }
    return res


def worker_arena_rank(data: dict, stage: str, rounds: int) -> dict:
    import multiprocessing as mp

    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset, PairDataset

    mp.set_start_method("spawn", force=True)
    m = int(data["n_models"])
    names = np.array([f"m{i:03d}" for i in range(m)])
    t0 = time.perf_counter()
    df = pd.DataFrame(
        {
            "model_a": names[data["a"]],
            "model_b": names[data["b"]],
            "winner": WINNERS[data["outcome"]],
        }
    )
    if stage == "style":
        for j in range(data["features"].shape[1]):
            df[f"f{j}"] = data["features"][:, j]
        ds = ContextualPairDataset.from_pandas(
            df, feature_cols=[f"f{j}" for j in range(data["features"].shape[1])], reweighted=False
        )
        model = ContextualBradleyTerry(n_competitors=m, n_features=data["features"].shape[1])
    else:
        ds = PairDataset.from_pandas(df)
        model = BradleyTerry(n_competitors=m)
    t1 = time.perf_counter()
    kw = {"ci_method": "bootstrap", "num_bootstrap": rounds} if stage == "bootstrap" else {}
    res = model.compute_ratings_and_cis(ds, **kw)
    ratings = np.asarray(res["ratings"])
    t2 = time.perf_counter()
    order = [list(res["competitors"]).index(x) for x in names]
    return {
        "seconds": t2 - t1,
        "prepare_seconds": t1 - t0,
        "ratings": ratings[order].tolist(),
        "lower": np.asarray(res["rating_lower"])[order].tolist(),
        "upper": np.asarray(res["rating_upper"])[order].tolist(),
        "coeffs": np.asarray(res.get("coeffs", [])).tolist(),
    }


def worker_choix(data: dict, stage: str, rounds: int) -> dict:
    import choix

    m = int(data["n_models"])
    t0 = time.perf_counter()
    a, b, o = data["a"].astype(np.int64), data["b"].astype(np.int64), data["outcome"]
    win = np.where(o == 0, 1.0, np.where(o == 1, 0.0, 0.5))
    mat = np.bincount(a * m + b, win, m * m) + np.bincount(b * m + a, 1.0 - win, m * m)
    params = choix.ilsr_pairwise_dense(mat.reshape(m, m), alpha=0.0, tol=1e-10, max_iter=10000)
    secs = time.perf_counter() - t0
    ratings = 1000.0 + 400.0 / np.log(10.0) * (params - params.mean())
    return {"seconds": secs, "ratings": ratings.tolist()}


WORKERS = {"ours": worker_ours, "arena-rank": worker_arena_rank, "choix": worker_choix}


def run_worker(python: str, tool: str, stage: str, npz: Path, rounds: int, timeout: float) -> dict:
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--stage",
        stage,
        "--npz",
        str(npz),
        "--bootstrap",
        str(rounds),
    ]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1]
            if proc.stderr.strip()
            else f"exit {proc.returncode}"
        }
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--battles", type=int, default=5_000_000)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--skip-arena-rank", action="store_true")
    ap.add_argument("--stages", default="sandwich,bootstrap,style")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--setup-only", action="store_true", help="only create the arena-rank venv")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--npz", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        with np.load(args.npz) as z:
            keys = [k for k in z.files if k != "features" or args.stage == "style"]
            data = {key: z[key] for key in keys}
        out = WORKERS[args.worker](data, args.stage, args.bootstrap)
        out["peak_mb"], out["children_peak_mb"] = _peak_mb()
        print(json.dumps(out))
        return 0
    other = None if args.skip_arena_rank else str(ensure_venv(args.venv))
    if args.setup_only:
        return 0
    stages = args.stages.split(",")
    print(
        f"battles={args.battles:,} models={args.models} seed={args.seed} "
        f"bootstrap={args.bootstrap} cores={os.cpu_count()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "battles.npz"
        make_data(npz, args.battles, args.models, args.seed)
        header = (
            f"{'stage':<22}{'ours s':>9}{'peak MB':>9}{'peer':>12}{'peer s':>10}"
            f"{'peak MB':>9}{'ratio':>8}{'max |dR|':>10}"
        )
        print(header)
        print("-" * len(header))
        for stage in stages:
            ours = run_worker(sys.executable, "ours", stage, npz, args.bootstrap, args.timeout)
            peers = (
                []
                if other is None
                else [
                    (
                        "arena-rank",
                        run_worker(other, "arena-rank", stage, npz, args.bootstrap, args.timeout),
                    )
                ]
            )
            if stage == "sandwich" and other is not None:
                peers.append(
                    ("choix", run_worker(other, "choix", stage, npz, args.bootstrap, args.timeout))
                )
            if "error" in ours:
                print(f"{stage:<22} ours failed: {ours['error']}")
                continue
            if not peers:
                print(f"{stage:<22}{ours['seconds']:>9.3f}{ours['peak_mb']:>9.0f}")
            for name, peer in peers:
                if "error" in peer:
                    print(
                        f"{stage:<22}{ours['seconds']:>9.3f}{ours['peak_mb']:>9.0f}{name:>12}"
                        f"  failed: {peer['error']}"
                    )
                    continue
                diff = float(np.max(np.abs(np.subtract(ours["ratings"], peer["ratings"]))))
                peak = max(peer["peak_mb"], peer["children_peak_mb"])
                print(
                    f"{stage:<22}{ours['seconds']:>9.3f}{ours['peak_mb']:>9.0f}{name:>12}{peer['seconds']:>10.3f}{peak:>9.0f}"
                    f"{peer['seconds'] / ours['seconds']:>8.1f}{diff:>10.4f}"
                )
                extra = []
                if "prepare_seconds" in peer:
                    extra.append(
                        f"{name} DataFrame+dataset build {peer['prepare_seconds']:.2f} s "
                        "(not in its time)"
                    )
                if peer.get("lower") and stage != "bootstrap":
                    dl = np.max(np.abs(np.subtract(ours["lower"], peer["lower"])))
                    du = np.max(np.abs(np.subtract(ours["upper"], peer["upper"])))
                    extra.append(f"max |d lower| {dl:.4f}, max |d upper| {du:.4f}")
                if peer.get("coeffs"):
                    extra.append(
                        "max |d style coef| "
                        f"{np.max(np.abs(np.subtract(ours['coeffs'], peer['coeffs']))):.2e}"
                    )
                for line in extra:
                    print(f"{'':<22}  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
