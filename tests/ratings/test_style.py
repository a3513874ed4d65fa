"""Style control: feature extraction and the contextual Bradley-Terry fit."""

from __future__ import annotations

import numpy as np
import pytest

from ratings import battles_from_arrays, compute_leaderboard
from ratings.style import (
    _Design,
    assistant_text,
    fit_contextual,
    record_style_features,
    standardize,
    style_counts,
    style_features,
)

BETA_TOL = 0.03


def test_style_counts_of_markdown() -> None:
    text = "# Title\n\nSome **bold** and __more__.\n\n- one\n- two\n1. three\n## Sub\n"
    length, headers, lists, bold = style_counts(text)
    assert (headers, lists, bold) == (2, 3, 2)
    assert style_counts("Hello, world!")[0] == 4  # word and punctuation tokens
    assert style_counts(text, length="chars")[0] == len(text)
    with pytest.raises(ValueError):
        style_counts(text, length="words")


def test_record_features_from_conversation_and_metadata() -> None:
    rec = {
        "conversation_a": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "**a** b c"},
        ],
        "conversation_b": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "x"},
        ],
    }
    f = record_style_features(rec)
    assert f[0] == pytest.approx((7 - 1) / (7 + 1 + 1))
    assert f[3] == pytest.approx(1 / 2) and f[1] == 0.0
    meta = {
        "conv_metadata": {
            "sum_assistant_a_tokens": 10,
            "sum_assistant_b_tokens": 0,
            "header_count_a": {"h1": 1, "h2": 1},
            "header_count_b": {"h1": 0},
            "list_count_a": {"ordered": 0},
            "list_count_b": {"ordered": 3},
            "bold_count_a": {"**": 0},
            "bold_count_b": {"**": 0},
        }
    }
    assert record_style_features(meta) == pytest.approx([10 / 11, 2 / 3, -3 / 4, 0.0])
    with pytest.raises(KeyError):
        record_style_features({"model_a": "x"})


def test_assistant_text_and_style_features() -> None:
    conv = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "one"},
        {"role": "gpt", "content": "two"},  # ShareGPT / FastChat spelling
        {"role": "system", "content": "s"},
    ]
    assert assistant_text(conv) == "one\ntwo"
    assert assistant_text("as is") == "as is"
    with pytest.raises(TypeError):
        assistant_text(3)  # type: ignore[arg-type]
    # (a - b) / (a + b + 1), by hand; float32 counts (as stored) give the same
    want = [(10 - 2) / 13, 0.0, -1 / 2]
    np.testing.assert_allclose(style_features([10, 0, 0], [2, 0, 1]), want, rtol=1e-15)
    stored = style_features(np.float32([[10, 0, 0]]), np.float32([[2, 0, 1]]))
    assert stored.dtype == np.float64 and stored.shape == (1, 3)
    np.testing.assert_allclose(stored[0], want, rtol=1e-15)


def test_standardize() -> None:
    x = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(x, [[-1.0, 0.0], [1.0, 0.0]])


def simulate_style(n: int, seed: int):
    rng = np.random.default_rng(seed)
    m, k = 6, 3
    theta = np.linspace(-0.6, 0.6, m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    verbose = np.linspace(-1, 1, m)
    raw = 0.5 * (verbose[a] - verbose[b])[:, None] + rng.normal(0, 1, (n, k))
    beta = np.array([0.5, -0.3, 0.0])
    d = theta[a] - theta[b] + standardize(raw) @ beta
    out = np.where(rng.random(n) < 1 / (1 + np.exp(-d)), 0, 1).astype(np.int8)
    return a, b, out, raw, theta, beta


def test_contextual_fit_is_stationary_and_recovers_beta() -> None:
    a, b, out, raw, theta, beta = simulate_style(60_000, seed=8)
    y = np.where(out == 0, 1.0, 0.0)
    x = standardize(raw)
    w = np.ones_like(y)
    proj = np.full((6, 6), 1 / 6)
    th, be, cov = fit_contextual(a, b, y, w, x, 6, reg=0.0, projector=proj)
    design = _Design(a, b, x, 6)
    p = 1 / (1 + np.exp(-design.eta(th, be, np.empty(y.shape[0]))))
    assert np.max(np.abs(design.t_vec(y - p))) < 1e-6
    # in-place standardisation gives the same fit as pre-standardised features
    th2, be2, _ = fit_contextual(a, b, y, w, raw, 6, reg=0.0, projector=proj, standardize=True)
    np.testing.assert_allclose(np.concatenate([th2, be2]), np.concatenate([th, be]), atol=1e-9)
    np.testing.assert_allclose(be, beta, atol=BETA_TOL)
    np.testing.assert_allclose(th, theta - theta.mean(), atol=0.05)
    assert cov is not None and cov.shape == (9, 9) and np.all(np.diag(cov)[:6] > 0)
    # arena-rank's default reg=1 on the mean loss shrinks the coefficients
    _, shrunk, _ = fit_contextual(a, b, y, w, x, 6, reg=1.0, projector=proj)
    assert np.all(np.abs(shrunk) < np.abs(be) + 1e-12)


def test_style_controlled_leaderboard() -> None:
    a, b, out, raw, _, _ = simulate_style(20_000, seed=9)
    names = [f"m{k}" for k in range(6)]
    data = battles_from_arrays(
        a, b, out, models=names, features=raw, feature_names=("length", "lists", "bold")
    )
    plain = compute_leaderboard(data)
    styled = compute_leaderboard(data, style_control=True, style_reg=0.0)
    assert set(styled.style_coefficients) == {"length", "lists", "bold"}
    assert styled.style_coefficients["length"] == pytest.approx(0.5, abs=0.05)
    for name in styled.style_coefficients:
        assert styled.style_lower[name] < styled.style_coefficients[name] < styled.style_upper[name]
    # verbose models (high index) lose rating once length is controlled for
    gap_plain = plain.row("m5").rating - plain.row("m0").rating
    gap_styled = styled.row("m5").rating - styled.row("m0").rating
    assert gap_styled < gap_plain
    boot = compute_leaderboard(data, style_control=True, ci="bootstrap", bootstrap_rounds=5)
    assert boot.row("m5").lower < boot.row("m5").rating < boot.row("m5").upper


def test_style_from_records_recovers_a_coefficient_known_by_construction() -> None:
    # p and q play each other in both seats; whichever answer is longer wins 3 battles
    # of 4.  Swapping p and q leaves the data unchanged, so their ratings are equal;
    # the length feature is +c or -c in equal numbers, i.e. +-1 once standardised,
    # and the other features are 0.  So the fit reduces to one coefficient beta with
    # log-likelihood 16 [3/4 beta - softplus(beta)] - reg * 16 / 2 * beta^2, whose
    # maximum solves 3/4 - sigmoid(beta) = reg * beta.
    long_, short = "word " * 9, "word"
    recs = []
    for a, b in (("p", "q"), ("q", "p")):
        for a_longer in (True, False):
            conv_a = [{"role": "user", "content": "?"},
                      {"role": "assistant", "content": long_ if a_longer else short}]
            conv_b = [{"role": "user", "content": "?"},
                      {"role": "assistant", "content": short if a_longer else long_}]
            for longer_won in (True, True, True, False):
                winner = "model_a" if longer_won == a_longer else "model_b"
                recs.append({"model_a": a, "model_b": b, "winner": winner,
                             "conversation_a": conv_a, "conversation_b": conv_b})
    free = compute_leaderboard(recs, style_control=True, style_reg=0.0)
    assert free.style_coefficients["length"] == pytest.approx(np.log(3.0), abs=1e-8)
    assert free.row("p").rating == pytest.approx(free.row("q").rating, abs=1e-8)
    for name in ("headers", "lists", "bold"):
        assert free.style_coefficients[name] == pytest.approx(0.0, abs=1e-12)
    lo, hi = 0.0, 1.0  # 3/4 - sigmoid(beta) - beta, by bisection
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if 0.75 - 1 / (1 + np.exp(-mid)) - mid > 0 else (lo, mid)
    shrunk = compute_leaderboard(recs, style_control=True)  # arena-rank's reg = 1
    assert shrunk.style_coefficients["length"] == pytest.approx(lo, abs=1e-8)


def test_style_control_with_a_rating_prior_keeps_sensible_intervals() -> None:
    a, b, out, raw, _, _ = simulate_style(20_000, seed=11)
    names = [f"m{k}" for k in range(6)]
    data = battles_from_arrays(
        a, b, out, models=names, features=raw, feature_names=("length", "lists", "bold")
    )
    free = compute_leaderboard(data, style_control=True, style_reg=0.0)
    tiny = compute_leaderboard(data, style_control=True, style_reg=0.0, l2=1e-3)
    for name in names:
        free_width = free.row(name).upper - free.row(name).lower
        tiny_width = tiny.row(name).upper - tiny.row(name).lower
        assert tiny.row(name).rating == pytest.approx(free.row(name).rating, abs=0.5)
        assert tiny_width == pytest.approx(free_width, rel=0.05)
    # a strong prior pulls the ratings together and narrows the intervals
    strong = compute_leaderboard(data, style_control=True, style_reg=0.0, l2=200.0)
    spread = [strong.row(n).rating for n in names]
    assert max(spread) - min(spread) < max(free.row(n).rating for n in names) - min(
        free.row(n).rating for n in names)
    assert all(strong.row(n).upper - strong.row(n).lower
               < free.row(n).upper - free.row(n).lower for n in names)
