"""Judge throughput: `arena judge run`'s engine against a judge that answers after a delay.

A local judge server (tests/utils/fake_judge.py: OpenAI chat completions, streamed)
answers every request after --delay seconds. The arena (a fresh SQLite file, an answer
set of 3 models) judges --battles battles (items in both orders) at each concurrency,
through arena.services.judging.run_judge_sync, as the command does. Reported: battles per
second, the share of the ideal rate (concurrency / delay), and the time each battle
costs beyond the judge's delay.

    .venv/bin/python benchmarks/bench_judge.py [--battles 1000] [--delay 0.2]
        [--concurrency 1 8 32]

Target (issue 16): concurrency 32 reaches at least 80 % of the ideal rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from arena import services  # noqa: E402
from arena.config import load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.formats.answers import read_answer_set  # noqa: E402
from arena.services.judging import run_judge_sync  # noqa: E402
from tests.utils.fake_judge import FakeJudge, serve_fake_judge  # noqa: E402

MODELS = ("model-a", "model-b", "model-c")


def answer_set(path: Path, questions: int) -> Path:
    path.write_text("".join(json.dumps({
        "question_id": f"q{k}", "turns": [f"Question number {k}: explain it."],
        "answers": {m: [f"Answer {k} of {m}: " + "words " * (5 + 3 * i)]
                    for i, m in enumerate(MODELS)}}) + "\n"
        for k in range(questions)), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--battles", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    items = args.battles // 2  # each item is judged in both orders
    questions = (items + 2) // 3  # three pairs per question

    fake = FakeJudge(delay=args.delay, slow=0.0)
    with tempfile.TemporaryDirectory() as tmp, serve_fake_judge(fake) as url:
        judges = [{"name": f"c{c}", "base_url": url, "model": "judge"}
                  for c in args.concurrency]
        settings = load_settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                                 judges=judges, battle={"load_demo": False})
        arena = Arena.open(settings, migrate=True)
        with arena.session() as session:
            services.import_answer_set(session, read_answer_set(
                answer_set(Path(tmp) / "set.jsonl", questions)))
        print(f"{args.battles} battles per run ({items} items in both orders), judge delay "
              f"{args.delay * 1000:.0f} ms, SQLite, {os.cpu_count()} cores")
        print(f"{'concurrency':>11}  {'battles/s':>9}  {'ideal':>7}  {'of ideal':>8}  "
              f"{'overhead/battle':>15}")
        for judge, concurrency in zip(settings.judges, args.concurrency, strict=True):
            summary = run_judge_sync(arena, judge, pairs=items, concurrency=concurrency)
            done = summary.verdicts + summary.unreadable
            if summary.errors or done != 2 * items:
                raise SystemExit(f"run at concurrency {concurrency}: {summary}")
            rate = done / summary.seconds
            ideal = concurrency / args.delay
            overhead = summary.seconds * concurrency / done - args.delay
            print(f"{concurrency:>11}  {rate:>9.1f}  {ideal:>7.1f}  {rate / ideal:>8.0%}  "
                  f"{overhead * 1000:>12.1f} ms")
        arena.close()


if __name__ == "__main__":
    main()
