"""Small answer sets written to disk and imported through the real importer."""

from __future__ import annotations

import json
from pathlib import Path

from arena import services
from arena.context import Arena
from arena.formats.answers import read_answer_set

MODELS = ("alpha-7b", "bravo-13b", "charlie-70b")


def write_answer_set(path: Path, *, questions: int = 6, models: tuple[str, ...] = MODELS) -> Path:
    lines = []
    for number in range(1, questions + 1):
        lines.append({
            "question_id": f"q{number}",
            "category": "writing" if number % 2 else "coding",
            "turns": [f"Prompt number {number}: explain something."],
            "answers": {m: [f"Answer {number} in style {style}."]
                        for style, m in enumerate(models)},
        })
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def import_small_set(arena: Arena, tmp_path: Path, *, name: str = "small",
                     **kwargs: object) -> services.ImportSummary:
    path = write_answer_set(tmp_path / f"{name}.jsonl", **kwargs)  # type: ignore[arg-type]
    with arena.session() as session:
        return services.import_answer_set(session, read_answer_set(path))
