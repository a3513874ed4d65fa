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
    """Peak RSS of this process (VmHWM) and the largest ru_maxrss of its children, in MB.

    ``ru_maxrss`` of RUSAGE_SELF survives ``execve`` on Linux, so it would
    include the benchmark parent's memory; ``VmHWM`` belongs to this process.
    Children's ru_maxrss has the same caveat (it includes this process's RSS
    when they were forked).
    """
    own = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                own = float(line.split()[1]) / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, kids


CPU_SECONDS: list[float] = []


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(fn, repeat: int):  # noqa: ANN001, ANN202 - tiny helper
    """Wall time of the first call (cold), best of ``repeat`` calls (warm), last result.

    The CPU seconds (user + system, this process and its children) of the
    fastest call go to ``CPU_SECONDS``: a load-independent cross-check on a
    shared machine.
    """
    times, cpus, out = [], [], None
    for _ in range(max(repeat, 1)):
        t0, c0 = time.perf_counter(), _cpu()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    CPU_SECONDS.append(cpus[times.index(min(times))])
    return times[0], min(times), out


def worker_ours(data: dict, stage: str, rounds: int, repeat: int) -> dict:
    """Our engine, timed from raw integer arrays to the finished leaderboard."""
    sys.path.insert(0, str(ROOT))
    from ratings import battles_from_arrays, compute_leaderboard

    m = int(data["n_models"])
    names = [f"m{i:03d}" for i in range(m)]
    kw: dict = {
        "sandwich": {},
        "bootstrap": {"ci": "bootstrap", "bootstrap_rounds": rounds},
        "style": {"style_control": True},
    }[stage]

    def run():  # noqa: ANN202
        bat = battles_from_arrays(
            data["a"],
            data["b"],
            data["outcome"],
            models=names,
            features=data["features"] if stage == "style" else None,
            feature_names=("length", "headers", "lists", "bold"),
        )
        return compute_leaderboard(bat, **kw)

    cold, warm, lb = _timed(run, repeat)
    return {
        "cold": cold,
        "seconds": warm,
        "ratings": [lb.row(x).rating for x in names],
        "lower": [lb.row(x).lower for x in names],
        "upper": [lb.row(x).upper for x in names],
        "coeffs": list(lb.style_coefficients.values()),
    }


def worker_arena_rank(data: dict, stage: str, rounds: int, repeat: int) -> dict:
    """arena-rank 0.1.x; its DataFrame/dataset build is timed separately."""
    import multiprocessing as mp

    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset, PairDataset

    mp.set_start_method("spawn", force=True)  # JAX + fork hangs
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
    k = data["features"].shape[1] if stage == "style" else 0
    for j in range(k):
        df[f"f{j}"] = data["features"][:, j]
    if stage == "style":
        cols = [f"f{j}" for j in range(k)]
        ds = ContextualPairDataset.from_pandas(df, feature_cols=cols, reweighted=False)
    else:
        ds = PairDataset.from_pandas(df)
    prepare = time.perf_counter() - t0

    def run():  # noqa: ANN202
        model = ContextualBradleyTerry(m, k) if stage == "style" else BradleyTerry(m)
        kw = {"ci_method": "bootstrap", "num_bootstrap": rounds} if stage == "bootstrap" else {}
        res = model.compute_ratings_and_cis(ds, **kw)
        np.asarray(res["ratings"])  # block until JAX is done
        return res

    cold, warm, res = _timed(run, repeat if stage == "sandwich" else 1)
    order = [list(res["competitors"]).index(x) for x in names]
    return {
        "cold": cold,
        "seconds": warm,
        "prepare_seconds": prepare,
        "ratings": np.asarray(res["ratings"])[order].tolist(),
        "lower": np.asarray(res["rating_lower"])[order].tolist(),
        "upper": np.asarray(res["rating_upper"])[order].tolist(),
        "coeffs": np.asarray(res.get("coeffs", [])).tolist(),
    }


def worker_choix(data: dict, stage: str, rounds: int, repeat: int) -> dict:
    """choix ILSR on the dense aggregated comparison matrix (ties as half wins; no intervals)."""
    import choix

    m = int(data["n_models"])
    a, b, o = data["a"].astype(np.int64), data["b"].astype(np.int64), data["outcome"]

    def run():  # noqa: ANN202
        win = np.where(o == 0, 1.0, np.where(o == 1, 0.0, 0.5))
        mat = np.bincount(a * m + b, win, m * m) + np.bincount(b * m + a, 1.0 - win, m * m)
        return choix.ilsr_pairwise_dense(mat.reshape(m, m), alpha=0.0, tol=1e-10, max_iter=10000)

    cold, warm, params = _timed(run, repeat)
    ratings = 1000.0 + 400.0 / np.log(10.0) * (params - params.mean())
    return {"cold": cold, "seconds": warm, "ratings": ratings.tolist()}


WORKERS = {"ours": worker_ours, "arena-rank": worker_arena_rank, "choix": worker_choix}


def run_worker(
    python: str, tool: str, stage: str, npz: Path, rounds: int, repeat: int, timeout: float
) -> dict:
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
        "--repeat",
        str(repeat),
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
    ap.add_argument("--repeat", type=int, default=3, help="best of N (arena-rank: sandwich only)")
    ap.add_argument("--setup-only", action="store_true", help="only create the arena-rank venv")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--npz", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        with np.load(args.npz) as z:
            keys = [k for k in z.files if k != "features" or args.stage == "style"]
            data = {key: z[key] for key in keys}
        out = WORKERS[args.worker](data, args.stage, args.bootstrap, args.repeat)
        out["peak_mb"], out["children_peak_mb"] = _peak_mb()
        out["cpu"] = CPU_SECONDS[-1]
        print(json.dumps(out))
        return 0
    other = None if args.skip_arena_rank else str(ensure_venv(args.venv))
    if args.setup_only:
        return 0
    print(
        f"battles={args.battles:,} models={args.models} seed={args.seed} "
        f"bootstrap={args.bootstrap} cores={os.cpu_count()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "battles.npz"
        make_data(npz, args.battles, args.models, args.seed)
        header = (
            f"{'stage':<11}{'ours cold':>10}{'warm':>8}{'MB':>6}{'peer':>12}{'cold':>9}"
            f"{'warm':>9}{'MB':>6}{'ratio cold':>11}{'warm':>7}{'max|dR|':>9}"
        )
        print(header)
        print("-" * len(header))
        for stage in args.stages.split(","):

            def run(python: str, tool: str, st: str = stage) -> dict:
                return run_worker(
                    python, tool, st, npz, args.bootstrap, args.repeat, args.timeout
                )  # fmt: skip

            load = os.getloadavg()[0]
            ours = run(sys.executable, "ours")
            peers = [] if other is None else [("arena-rank", run(other, "arena-rank"))]
            if stage == "sandwich" and other is not None:
                peers.append(("choix", run(other, "choix")))
            for line in report(stage, ours, peers):
                print(line, flush=True)
            print(f"{'':13}1-min load average: {load:.1f} before, {os.getloadavg()[0]:.1f} after")
            if stage == "style" and peers and "error" not in peers[0][1] and "error" not in ours:
                lo, la = style_loss(npz, ours), style_loss(npz, peers[0][1])
                print(f"{'':13}penalised mean loss: ours {lo:.12f}, arena-rank {la:.12f}")
    return 0


def style_loss(npz: Path, res: dict, reg: float = 1.0) -> float:
    """arena-rank's contextual objective (mean loss + reg/2 |beta|^2) at a reported solution."""
    with np.load(npz) as z:
        a, b, o, x = z["a"], z["b"], z["outcome"], z["features"]
    x = (x - x.mean(0)) / x.std(0)
    theta = (np.asarray(res["ratings"]) - 1000.0) * np.log(10.0) / 400.0
    beta = np.asarray(res["coeffs"])
    eta = theta[a] - theta[b] + x @ beta
    y = np.where(o == 0, 1.0, np.where(o == 1, 0.0, 0.5))
    return float(-np.mean(y * eta - np.logaddexp(0.0, eta)) + 0.5 * reg * beta @ beta)


def report(stage: str, ours: dict, peers: list[tuple[str, dict]]) -> list[str]:
    """Table lines comparing our stage result with each peer's."""
    if "error" in ours:
        return [f"{stage:<12} ours failed: {ours['error']}"]
    mine = f"{stage:<11}{ours['cold']:>10.3f}{ours['seconds']:>8.3f}{ours['peak_mb']:>6.0f}"
    if not peers:
        return [mine]
    lines = []
    for name, peer in peers:
        if "error" in peer:
            lines.append(f"{mine}{name:>12}  failed: {peer['error']}")
            continue
        diff = float(np.max(np.abs(np.subtract(ours["ratings"], peer["ratings"]))))
        peak = max(peer["peak_mb"], peer["children_peak_mb"])
        r_cold, r_warm = peer["cold"] / ours["cold"], peer["seconds"] / ours["seconds"]
        lines.append(
            f"{mine}{name:>12}{peer['cold']:>9.3f}{peer['seconds']:>9.3f}{peak:>6.0f}"
            f"{r_cold:>11.1f}{r_warm:>7.1f}{diff:>9.4f}"
        )
        pad = " " * 13
        if "cpu" in peer and "cpu" in ours:
            r_cpu = peer["cpu"] / max(ours["cpu"], 1e-9)
            lines.append(
                f"{pad}CPU s (warm): ours {ours['cpu']:.3f}, {name} {peer['cpu']:.3f} "
                f"(ratio {r_cpu:.1f})"
            )
        if "prepare_seconds" in peer:
            build = peer["prepare_seconds"]
            lines.append(f"{pad}{name} DataFrame+dataset build {build:.2f} s (not in its time)")
        if peer.get("lower") and stage != "bootstrap":
            dl = np.max(np.abs(np.subtract(ours["lower"], peer["lower"])))
            du = np.max(np.abs(np.subtract(ours["upper"], peer["upper"])))
            lines.append(f"{pad}max |d lower| {dl:.4f}, max |d upper| {du:.4f}")
        if peer.get("coeffs"):
            dc = np.max(np.abs(np.subtract(ours["coeffs"], peer["coeffs"])))
            lines.append(f"{pad}max |d style coef| {dc:.2e}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
