"""No IP in any export; judges are keyed pseudonyms of the voter id."""

from __future__ import annotations

import re
from pathlib import Path

from arena.config import load_settings
from arena.context import Arena
from arena.formats.votes import FORMATS
from arena.services.export import ExportOptions
from arena.services.voters import hash_ip
from tests.data.helpers import export_to, read_records
from tests.data.seed import IPS, LIVE_PROMPT, VOTER_IDS


def test_no_ip_voter_id_or_ip_hash_in_any_export(seeded: Arena, tmp_path: Path) -> None:
    secrets = [*IPS, *VOTER_IDS, *(hash_ip(seeded.salt, ip) for ip in IPS), seeded.salt]
    for fmt in FORMATS:
        path = tmp_path / f"votes.{fmt}"
        export_to(seeded, path, fmt)
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, (fmt, secret)
        assert b"ip_hash" not in raw
        records = read_records(path, fmt)
        assert all(re.fullmatch(r"arena_user_[0-9a-f]{32}", r["judge"]) for r in records)
        assert not any(secret in str(r) for r in records for secret in secrets)


def judges(arena: Arena, path: Path) -> list[str]:
    export_to(arena, path, "jsonl")
    return [r["judge"] for r in read_records(path)]


def test_same_salt_same_judges_other_salt_other_judges(seeded: Arena, tmp_path: Path) -> None:
    first = judges(seeded, tmp_path / "1.jsonl")
    assert first == judges(seeded, tmp_path / "2.jsonl")
    assert len(set(first)) == len(VOTER_IDS)  # one pseudonym per voter
    resalted = Arena.open(load_settings(database_url=seeded.settings.database_url,
                                        secret_salt="a-different-secret",
                                        battle={"load_demo": False}))
    try:
        other = judges(resalted, tmp_path / "3.jsonl")
    finally:
        resalted.close()
    assert len(set(other)) == len(VOTER_IDS)
    assert not set(other) & set(first)
    # the grouping is the same: same voter <-> same pseudonym under either salt
    assert len(set(zip(first, other, strict=True))) == len(VOTER_IDS)


def test_live_prompts_can_be_dropped(seeded: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    export_to(seeded, path, "jsonl", options=ExportOptions(drop_live_prompts=True))
    assert LIVE_PROMPT not in path.read_text()
    live = next(r for r in read_records(path) if r["mode"] == "live")
    assert live["conversation_a"] == [{"role": "user", "content": ""},
                                      {"role": "assistant", "content": "Here is a CV."}]
    kept = tmp_path / "kept.jsonl"
    export_to(seeded, kept, "jsonl")
    assert LIVE_PROMPT in kept.read_text()
    export_to(seeded, kept, "jsonl", options=ExportOptions(include_conversations=False))
    assert "conversation_a" not in read_records(kept)[0]
    assert "Answer" not in kept.read_text()
