"""An arena served for the named-mode tests: an anonymous set and a reference set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arena import services
from arena.config import load_settings
from arena.context import Arena
from arena.formats.answers import read_answer_set
from tests.utils.factories import MODELS, import_small_set
from tests.utils.server import LiveServer, start_server

REFERENCE_MODELS = ("ref-owl-1b", "ref-lynx-2b")


def import_reference_set(arena: Arena, tmp_path: Path, *, questions: int = 3) -> None:
    """A set ("reference") with its own models and texts, for named battles."""
    lines = [{"question_id": f"r{n}", "turns": [f"Reference prompt {n}?"],
              "answers": {model: f"Reference answer {n} by {model}." for model in
                          REFERENCE_MODELS}} for n in range(1, questions + 1)]
    path = tmp_path / "reference.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))


@contextmanager
def named_server(database_url: str, tmp_path: Path, *, named_mode: str,
                 answer_sets: list[str] | None = None, reference: bool = False,
                 models: tuple[str, ...] = MODELS, questions: int = 3,
                 **settings: object) -> Iterator[LiveServer]:
    """Anonymous battles draw the "anon" set (unless *answer_sets* says otherwise)."""
    battle = {"load_demo": False, "named_mode": named_mode,
              "answer_sets": ["anon"] if answer_sets is None else answer_sets}
    arena = Arena.open(load_settings(database_url=database_url, battle=battle, **settings),
                       migrate=True)
    try:
        import_small_set(arena, tmp_path, name="anon", questions=questions, models=models)
        if reference:
            import_reference_set(arena, tmp_path)
        with start_server(arena) as server:
            yield server
    finally:
        arena.close()
