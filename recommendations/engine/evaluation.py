"""Offline evaluation: per-user holdout splits, full-ranking top-k metrics, grid tuning.

Protocol: every interaction counts as a positive; each user's interactions are split
(``random``: a seeded random 20%, ``temporal``: the latest 20%) into train and test; models
fit on train rank *all* items for each test user, train items removed; metrics at k are
averaged over users with at least one test item. Tuning carves a validation split out of the
training part with the same rule, so the test part is never looked at while choosing.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recommendations.engine import build
from recommendations.engine.base import SideInfo, as_csr, top_k

METRICS = ("precision", "recall", "ndcg", "hit_rate", "coverage")


@dataclass
class Interactions:
    """Coordinates of a user x item interaction list (indices, not ids)."""

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    times: np.ndarray | None
    n_users: int
    n_items: int

    def matrix(self, mask: np.ndarray | None = None) -> sp.csr_matrix:
        sel = slice(None) if mask is None else mask
        return as_csr(
            sp.coo_matrix(
                (self.values[sel], (self.users[sel], self.items[sel])),
                shape=(self.n_users, self.n_items),
            )
        )

    def time_matrix(self, mask: np.ndarray | None = None) -> sp.csr_matrix | None:
        """When each cell of ``matrix(mask)`` last happened (None without times)."""
        if self.times is None:
            return None
        sel = np.ones(len(self.users), dtype=bool) if mask is None else mask
        users, items, times = self.users[sel], self.items[sel], self.times[sel]
        # The latest time per cell: sort by cell then time, keep each cell's last entry.
        order = np.lexsort((times, items, users))
        users, items, times = users[order], items[order], times[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
        return sp.csr_matrix(
            (times[last], (users[last], items[last])), shape=(self.n_users, self.n_items)
        )

    def subset(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.users[mask],
            self.items[mask],
            self.values[mask],
            None if self.times is None else self.times[mask],
            self.n_users,
            self.n_items,
        )


def holdout_mask(
    data: Interactions, *, fraction: float = 0.2, split: str = "random", seed: int = 42
) -> np.ndarray:
    """True for the interactions held out: ``fraction`` of each user's, at least one.

    Users with a single interaction keep it in train.
    """
    if split not in ("random", "temporal"):
        raise ValueError("split must be 'random' or 'temporal'")
    if split == "temporal" and data.times is None:
        raise ValueError("a temporal split needs interaction times")
    rng = np.random.default_rng(seed)
    noise = rng.random(len(data.users))
    # Order within each user: by a random key, or by time (ties broken by the random key).
    key2 = noise if split == "random" else data.times
    order = (
        np.lexsort((noise, key2, data.users))
        if split == "temporal"
        else np.lexsort((noise, data.users))
    )
    sorted_users = data.users[order]
    counts = np.bincount(sorted_users, minlength=data.n_users)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.arange(len(order)) - starts[sorted_users]
    n_test = np.where(counts >= 2, np.maximum(1, np.round(counts * fraction)), 0).astype(int)
    held_sorted = position >= counts[sorted_users] - n_test[sorted_users]
    mask = np.zeros(len(order), dtype=bool)
    mask[order] = held_sorted
    return mask


def cold_item_split(
    data: Interactions, *, fraction: float = 0.2, keep: int = 4, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """The cold-item protocol: a seeded ``fraction`` of the items become "new", keeping only
    their ``keep`` earliest interactions (by time, else at random) in training; every later
    interaction with them is the test. Returns (test mask, cold item mask)."""
    rng = np.random.default_rng(seed)
    cold = np.zeros(data.n_items, dtype=bool)
    cold[rng.choice(data.n_items, size=int(round(data.n_items * fraction)), replace=False)] = True
    noise = rng.random(len(data.items))
    order = np.lexsort((noise, noise if data.times is None else data.times, data.items))
    sorted_items = data.items[order]
    starts = np.concatenate(([0], np.cumsum(np.bincount(sorted_items, minlength=data.n_items))))
    position = np.arange(len(order)) - starts[sorted_items]
    held_sorted = cold[sorted_items] & (position >= keep)
    mask = np.zeros(len(order), dtype=bool)
    mask[order] = held_sorted
    return mask, cold


def _ranked(model, users: np.ndarray, k: int, candidates: np.ndarray | None):
    """(user, [item, ...]) for ``users``: the model's top ``k`` of all items, or of the
    ``candidates`` (a boolean item mask) only; the user's training items removed."""
    if candidates is None:
        for user, recs in model.recommend_all(k, users=users):
            yield user, [item for item, _ in recs]
        return
    for start in range(0, len(users), 512):
        batch = users[start : start + 512]
        scores = np.asarray(model.score_users(batch), dtype=np.float64)
        model._mask_seen(batch, scores)
        scores[:, ~candidates] = -np.inf
        idx, vals = top_k(scores, k)
        for user, row_idx, row_vals in zip(batch.tolist(), idx, vals, strict=True):
            yield user, row_idx[np.isfinite(row_vals)].tolist()


def ranking_metrics(
    model,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    *,
    k: int = 10,
    candidates: np.ndarray | None = None,
) -> dict[str, float]:
    """Precision, recall, NDCG and hit rate at k over users with test items, plus coverage.

    ``candidates`` (a boolean item mask) limits the ranking to those items (the cold-item
    protocol ranks the new items only)."""
    users = np.flatnonzero(np.diff(test.indptr))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    totals = dict.fromkeys(("precision", "recall", "ndcg", "hit_rate"), 0.0)
    recommended: set[int] = set()
    for user, items in _ranked(model, users, k, candidates):
        recommended.update(items)
        relevant = set(test.indices[test.indptr[user] : test.indptr[user + 1]].tolist())
        hits = np.array([i in relevant for i in items], dtype=float)
        n_hits = hits.sum()
        totals["precision"] += n_hits / k
        totals["recall"] += n_hits / len(relevant)
        idcg = discounts[: min(len(relevant), k)].sum()
        totals["ndcg"] += float((hits * discounts[: len(hits)]).sum() / idcg)
        totals["hit_rate"] += float(n_hits > 0)
    n = max(len(users), 1)
    result = {name: float(value / n) for name, value in totals.items()}
    result["coverage"] = len(recommended) / train.shape[1] if train.shape[1] else 0.0
    result["users"] = int(len(users))
    return result


def evaluate(
    name: str,
    params: dict,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    *,
    k: int = 10,
    train_times: sp.csr_matrix | None = None,
    side: SideInfo | None = None,
    candidates: np.ndarray | None = None,
) -> dict:
    """Fit ``name`` with ``params`` on train (and its times and side information), score it
    on test (ranking ``candidates`` only, when given); fit seconds included."""
    model = build(name, **params)
    start = time.perf_counter()
    model.fit(train, train_times, side)
    fit_seconds = time.perf_counter() - start
    metrics = ranking_metrics(model, train, test, k=k, candidates=candidates)
    metrics["fit_seconds"] = fit_seconds
    return metrics


# Hyperparameter grids searched on the validation split (small: the nightly job uses them too).
GRIDS: dict[str, dict[str, list]] = {
    "popular": {},
    "user_knn": {"k": [50, 100, 200], "shrink": [0.0, 10.0], "alpha": [1.0, 2.0]},
    "item_knn": {"k": [50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0]},
    "nmf": {"n_components": [16, 32, 64], "alpha": [0.0, 0.001]},
    "ease": {"l2": [100.0, 250.0, 500.0, 1000.0, 2000.0]},
    # Half-life None and transitions 0 is plain EASE: tuning may fall back to it.
    "recent_ease": {
        "l2": [250.0, 500.0, 1000.0],
        "half_life": [None, 5.0, 10.0, 20.0],
        "transitions": [0.0, 0.3, 1.0],
    },
    # Content, graph and mapping 0 is recent_ease: tuning may fall back to it. Shrinkage: how
    # many interactions the mapped column is worth against a new item's learned one.
    "hybrid": {
        "half_life": [None, 10.0],
        "transitions": [0.0, 1.0],
        "content": [0.0, 0.3, 1.0],
        "graph": [0.0, 1.0],
        "mapping": [0.0, 1.0],
        "shrinkage": [4.0, 64.0],
    },
}


def grid(name: str, grids: dict | None = None) -> list[dict]:
    space = (grids or GRIDS).get(name, {})
    keys = sorted(space)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(space[k] for k in keys))
    ]


@dataclass
class TuningResult:
    algorithm: str
    params: dict
    validation: dict
    trials: list = field(default_factory=list)


def tune(
    name: str,
    train_data: Interactions,
    *,
    split: str = "random",
    seed: int = 42,
    k: int = 10,
    grids: dict | None = None,
    metric: str = "ndcg",
    side: SideInfo | None = None,
    cold_keep: int = 4,
    cold_rank_all: bool = False,
) -> TuningResult:
    """The grid point with the best validation ``metric`` (validation carved from train with
    the same rule; for the ``cold`` split, among items that are not cold in the test)."""
    candidates = None
    if split == "cold":
        val_mask, candidates = cold_item_split(train_data, keep=cold_keep, seed=seed + 1)
        candidates = None if cold_rank_all else candidates
    else:
        val_mask = holdout_mask(train_data, split=split, seed=seed + 1)
    fit_part, val_part = train_data.matrix(~val_mask), train_data.matrix(val_mask)
    fit_times = train_data.time_matrix(~val_mask)
    best: TuningResult | None = None
    trials = []
    for params in grid(name, grids) or [{}]:
        params = {**params, "seed": seed}
        result = evaluate(
            name,
            params,
            fit_part,
            val_part,
            k=k,
            train_times=fit_times,
            side=side,
            candidates=candidates,
        )
        trials.append({"params": params, metric: result[metric]})
        if best is None or result[metric] > best.validation[metric]:
            best = TuningResult(name, params, result)
    best.trials = trials
    return best
