"""Agreement metrics against hand-computed values, and on real human votes
(three annotators per item in ../shared/data/prd-vicuna80-human)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ratings import compute_leaderboard
from ratings.agreement import (
    average_ranks,
    kendall_tau_b,
    position_bias_rate,
    separability,
    spearman,
    verdict_agreement,
)


def test_ranks_share_ties() -> None:
    assert average_ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_by_hand() -> None:
    # no ties: 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # ties: ranks (1, 2.5, 2.5, 4) and (1, 2, 3.5, 3.5): 3.75 / sqrt(4.5 * 4.5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(3.75 / 4.5)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_kendall_tau_b_by_hand() -> None:
    # no ties: 5 concordant, 1 discordant of 6 pairs
    assert kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # C = 4, D = 0, one pair tied in x, one in y: 4 / sqrt(5 * 5)
    assert kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8)
    assert np.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))


def test_separability_by_hand() -> None:
    # intervals [0, 10], [5, 15], [20, 30]: of 3 pairs, (1, 3) and (2, 3) are apart
    assert separability([0, 5, 20], [10, 15, 30]) == pytest.approx(2 / 3)


def test_verdict_agreement_with_and_without_ties() -> None:
    judge = [0, 0, 1, 2, 2, 1]
    human = [0, 1, 1, 2, 0, 2]
    agreement = verdict_agreement(judge, human)
    assert (agreement.with_ties, agreement.battles) == (pytest.approx(3 / 6), 6)
    # battles both called for a side: 0, 1, 2 -> agree on 0 and 2
    assert (agreement.without_ties, agreement.decided) == (pytest.approx(2 / 3), 3)
    with pytest.raises(ValueError, match="0 \\(A better\\)"):
        verdict_agreement([3], [0])


def test_position_bias_by_hand() -> None:
    # shown A/B then B/A: (A, B) consistent, (A, A) flips with the position, (tie, tie)
    # consistent, (B, tie) inconsistent
    assert position_bias_rate([0, 0, 2, 1], [1, 0, 2, 2]) == pytest.approx(2 / 4)


def prd_items(root: Path) -> list[tuple[str, str, list[int]]]:
    """(model A, model B, the three annotators' verdicts) per item; score 1 = A, 2 = B,
    3 = tie becomes 0, 1, 2. Items without three votes are left out."""
    items = []
    for path in sorted((root / "prd-vicuna80-human" / "ratings-human").glob("*.jsonl")):
        first, second = path.name.split("-human-")[0].split("-vs-")
        by_question: dict[int, list[int]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            by_question.setdefault(row["question_id"], []).append(row["score"] - 1)
        items += [(first.removeprefix("answer_"), second.removeprefix("answer_"), votes)
                  for votes in by_question.values() if len(votes) == 3]
    return items


def test_one_annotator_as_the_judge_on_real_votes(shared_data: Path) -> None:
    """The first annotator of each item plays the judge; the reference is the other two
    where they agree. Counted here by hand and through ratings.agreement."""
    items = prd_items(shared_data)
    assert len(items) == 2240  # 6,720 of the 7,040 votes come three to an item
    judge, human = [], []
    for _, _, (one, two, three) in items:
        if two == three:
            judge.append(one)
            human.append(two)
    same = sum(j == h for j, h in zip(judge, human, strict=True))
    decided = [(j, h) for j, h in zip(judge, human, strict=True) if j != 2 and h != 2]
    agreement = verdict_agreement(judge, human)
    assert agreement.battles == len(judge)
    assert agreement.with_ties == pytest.approx(same / len(judge))
    assert agreement.decided == len(decided)
    assert agreement.without_ties == pytest.approx(sum(j == h for j, h in decided)
                                                   / len(decided))
    assert 0.4 < agreement.with_ties < agreement.without_ties < 1.0

    # The two boards: the judge's votes and the reference's, each fitted by ratings.
    def board(pick: int) -> dict[str, float]:
        records = [{"model_a": a, "model_b": b,
                    "winner": ("model_a", "model_b", "tie")[votes[pick]]}
                   for a, b, votes in items if pick == 0 or votes[1] == votes[2]]
        return {r.model: r.rating for r in compute_leaderboard(records).rows}

    judge_board, human_board = board(0), board(1)
    models = sorted(judge_board)
    rho = spearman([judge_board[m] for m in models], [human_board[m] for m in models])
    tau = kendall_tau_b([judge_board[m] for m in models], [human_board[m] for m in models])
    assert len(models) == 8  # claude has one vote per item only, so no three-vote item
    assert 0.5 < tau <= rho <= 1.0
