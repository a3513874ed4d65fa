"""Time and peak memory of the voter audit (:func:`ratings.anomaly.audit`) at arena scale.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_audit.py                  # 10,000,000 votes (~2 min)
    .venv/bin/python benchmarks/bench_audit.py --votes 1000000  # a quick run

The arena is built in this process (seeded, no database): ``--votes`` honest votes
over ``--models`` models from ``--voters`` voters over ``--days`` days, the honest
world of ``bench_rigging.honest_arena`` (heavy-tailed votes per voter, per-voter
attention and tie rate, hour-long sessions on random days), with ``--shared-share``
of the voters behind an address shared with about ten others; then three attackers
vote for one model: one id (3,000 votes over two days), ids of 9 votes behind one
address (3,000 votes) and a one-day botnet (3,000 ids and addresses).  The columns
have the dtypes ``arena.services.audit`` reads them in (int32 codes, int8 outcomes,
float64 times) and go to ``.npy`` files; a child interpreter (importing numpy and
``ratings`` only) loads them, runs the audit as ``run_audit`` does (voters, addresses,
times) and reports its wall time, its RSS after loading the inputs and its peak RSS
(``VmHWM``): the peak above the loaded inputs is what an audit adds to the serving
process that runs it.  (Not ``ru_maxrss``: Linux keeps in it the RSS the forked child
had before its ``exec``, a copy of this process's.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"voter": np.int32, "network": np.int32, "a": np.int32, "b": np.int32,
           "outcome": np.int8, "time": np.float64}
ATTACK_VOTES = 3_000


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(key)


def build(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The honest arena plus three attackers, as the audit's input columns."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_rigging import DAY, honest_arena, identities, rigged_stream

    rng = np.random.default_rng(args.seed)
    m = args.models
    honest, _theta, target, _rival = honest_arena(rng, m, args.votes, args.voters, args.days,
                                                  args.models // 10, args.shared_share)
    parts = [honest.cols()]
    voter0, ip0 = args.voters, int(honest.ip.max()) + 1
    for cls, days in (("a", 2.0), ("b", 2.0), ("c", 1.0)):
        a, b, out, _battles = rigged_stream(rng, "target-only", ATTACK_VOTES, m, target,
                                            np.zeros(m))
        voter, ip = identities(cls, ATTACK_VOTES, voter0, ip0)
        start = (args.days // 2) * DAY
        t = np.sort(start + rng.uniform(0.0, days * DAY, ATTACK_VOTES))
        parts.append((a, b, out, voter, ip, t))
        voter0, ip0 = int(voter.max()) + 1, int(ip.max()) + 1
    a, b, out, voter, ip, t = (np.concatenate(col) for col in zip(*parts, strict=True))
    order = np.argsort(t, kind="stable")  # the database reads votes in id order
    cols = {"voter": voter, "network": ip, "a": a, "b": b, "outcome": out, "time": t}
    return {k: np.ascontiguousarray(v[order], dtype=COLUMNS[k]) for k, v in cols.items()}


def child(folder: Path, chunk: int | None) -> None:
    """Load the columns, run the audit, print one JSON line of figures."""
    sys.path.insert(0, str(ROOT))
    from ratings.anomaly import audit

    imported = _status_mb("VmRSS")
    cols = {k: np.load(folder / f"{k}.npy") for k in COLUMNS}
    loaded = _status_mb("VmRSS")
    started = time.perf_counter()
    found = audit(cols["voter"], cols["a"], cols["b"], cols["outcome"], network=cols["network"],
                  time=cols["time"], n_models=int(max(cols["a"].max(), cols["b"].max())) + 1,
                  **({} if chunk is None else {"chunk": chunk}))
    seconds = time.perf_counter() - started
    networks = found.networks
    print(json.dumps({
        "imported_mb": imported, "loaded_mb": loaded, "peak_mb": _status_mb("VmHWM"),
        "seconds": seconds, "voters_flagged": int(found.voters.flagged.sum()),
        "networks_flagged": 0 if networks is None else int(networks.flagged.sum()),
        "drift_cells": len(found.drift), "suspicious": int(found.suspicious.sum()),
    }))


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--votes", type=int, default=10_000_000)
    p.add_argument("--models", type=int, default=200)
    p.add_argument("--voters", type=int, default=300_000)
    p.add_argument("--shared-share", type=float, default=0.55,
                   help="share of voters behind an address shared with about ten others")
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, help="the audit's chunk of votes (default: its own)")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        child(args.child, args.chunk)
        return {}
    started = time.perf_counter()
    cols = build(args)
    inputs = sum(c.nbytes for c in cols.values()) / 2**20
    print(f"built {cols['a'].shape[0]:,} votes in {time.perf_counter() - started:.1f} s: "
          f"{args.models} models, {np.unique(cols['voter']).shape[0]:,} voters, "
          f"{np.unique(cols['network']).shape[0]:,} addresses, {args.days} days; "
          f"input columns {inputs:.0f} MB")
    with tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp:
        for k, v in cols.items():
            np.save(Path(tmp) / f"{k}.npy", v)
        del cols
        chunk = [] if args.chunk is None else ["--chunk", str(args.chunk)]
        run = subprocess.run([sys.executable, __file__, "--child", tmp, *chunk], check=True,
                             capture_output=True, text=True)
    got: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"audit: {got['seconds']:.1f} s; child RSS after imports {got['imported_mb']:.0f} MB, "
          f"after loading the inputs {got['loaded_mb']:.0f} MB, peak (VmHWM) "
          f"{got['peak_mb']:.0f} MB: {got['peak_mb'] - got['loaded_mb']:.0f} MB above the "
          f"loaded inputs")
    print(f"found: {got['voters_flagged']} voters, {got['networks_flagged']} addresses, "
          f"{got['drift_cells']} drift cells, {got['suspicious']:,} suspicious votes")
    return got


if __name__ == "__main__":
    main()
