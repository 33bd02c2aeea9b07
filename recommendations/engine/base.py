"""The interface every algorithm implements, and the ranking shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Users scored together: a batch x items block of float32 is the only dense thing built.
BATCH_USERS = 512


def as_csr(matrix) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` best columns of each row, best first (ties: lower index).

    Rows of -inf (seen or impossible items) sort last; the caller drops them.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        empty = np.zeros((scores.shape[0], 0))
        return empty.astype(np.int64), empty
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # Stable order: by score descending, then by item index ascending (determinism).
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(part_scores, order, axis=1)


def aligned_times(matrix: sp.csr_matrix, times) -> sp.csr_matrix:
    """``times`` as a CSR matrix with exactly ``matrix``'s cells, in its order (0 where a cell
    has no time)."""
    times = sp.csr_matrix(times, dtype=np.float64)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    values = np.asarray(times[rows, matrix.indices]).ravel()
    return sp.csr_matrix((values, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)


@dataclass
class SideInfo:
    """What is known about the items besides who took them: ``features`` (items x features,
    e.g. category, brand, genre; any non-negative weights) and ``graph`` (items x items, the
    catalog's edges: related, accessory, substitute). Either may be None."""

    features: sp.csr_matrix | None = None
    graph: sp.csr_matrix | None = None


class Recommender:
    """Fit on a CSR user x item matrix of implicit feedback (larger = stronger).

    ``times``, when given, is a CSR matrix of the same shape holding, at each interaction's
    cell, when it last happened (seconds): models that use order and recency read it, the
    others ignore it. ``side`` (``SideInfo``) is read by models that use what is known about
    the items (``hybrid``); the others ignore it.
    """

    name = "base"
    # The reason shown to a customer for a recommendation of this model.
    reason = "popular"

    def __init__(self, *, seed: int = 42):
        self.seed = seed
        self.matrix: sp.csr_matrix | None = None

    # --- to implement ------------------------------------------------------------------------
    def _fit(self, matrix: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _fit_times(self, matrix: sp.csr_matrix, times: sp.csr_matrix) -> None:
        """Fit with interaction times; models that have no use for them fit without."""
        self._fit(matrix)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Dense scores (len(users) x n_items), higher is better; seen items not yet removed."""
        raise NotImplementedError

    def item_similarity(self, item: int) -> np.ndarray:
        """Similarity of ``item`` to every item (dense vector over items)."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------
    @property
    def params(self) -> dict:
        return {"seed": self.seed}

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    def item_reasons(self, items: np.ndarray) -> np.ndarray:
        """The reason of each recommended item (an array shaped like ``items``)."""
        return np.full(np.shape(items), self.reason, dtype=object)

    def fit(self, matrix, times=None, side: SideInfo | None = None) -> Recommender:
        self.side = side
        self.matrix = as_csr(matrix)
        if times is None:
            self._fit(self.matrix)
        else:
            self._fit_times(self.matrix, aligned_times(self.matrix, times))
        return self

    def scoring_profile(self) -> sp.csr_matrix:
        """The user x item matrix that scoring multiplies with ``weights`` (item-based models)."""
        return self.matrix

    def anchors(self, users, items) -> np.ndarray:
        """For each user's recommended ``items`` (an array of len(users) rows), the user's own
        item that contributed most to that item's score: the "because you bought X" of an
        item-based model (score = profile @ weights). -1 where no own item contributed, and
        everywhere for models that do not score through items (``weights`` absent)."""
        items = np.asarray(items, dtype=np.int64)
        found = np.full(items.shape, -1, dtype=np.int64)
        weights = getattr(self, "weights", None)
        if weights is None or items.size == 0:
            return found
        profile = self.scoring_profile()
        for row, user in enumerate(np.asarray(users, dtype=np.int64)):
            start, end = profile.indptr[user], profile.indptr[user + 1]
            own, strength = profile.indices[start:end], profile.data[start:end]
            if not len(own):
                continue
            block = weights[own][:, items[row]]
            block = block.toarray() if sp.issparse(block) else np.asarray(block)
            contribution = strength[:, None].astype(np.float64) * block
            best = contribution.argmax(axis=0)
            positive = contribution[best, np.arange(len(best))] > 0
            found[row] = np.where(positive, own[best], -1)
        return found

    def _mask_seen(self, users: np.ndarray, scores: np.ndarray) -> None:
        seen = self.matrix[users]
        rows = np.repeat(np.arange(len(users)), np.diff(seen.indptr))
        scores[rows, seen.indices] = -np.inf

    def top_arrays(self, users, k: int, *, exclude_seen: bool = True):
        """(items, scores) arrays of shape len(users) x k, best first; -inf where none left."""
        users = np.asarray(users, dtype=np.int64)
        scores = np.asarray(self.score_users(users), dtype=np.float64)
        if exclude_seen:
            self._mask_seen(users, scores)
        return top_k(scores, k)

    def recommend_all_arrays(self, k: int, *, users=None, exclude_seen: bool = True):
        """Yield (user indices, items, scores) per batch of users: for bulk storage."""
        users = np.arange(self.n_users) if users is None else np.asarray(users, dtype=np.int64)
        for start in range(0, len(users), BATCH_USERS):
            batch = users[start : start + BATCH_USERS]
            yield (batch, *self.top_arrays(batch, k, exclude_seen=exclude_seen))

    def recommend_batch(
        self, users, k: int, *, exclude_seen: bool = True
    ) -> list[list[tuple[int, float]]]:
        idx, vals = self.top_arrays(users, k, exclude_seen=exclude_seen)
        return [
            [(int(i), float(v)) for i, v in zip(row_i, row_v, strict=True) if np.isfinite(v)]
            for row_i, row_v in zip(idx, vals, strict=True)
        ]

    def recommend(
        self, user_index: int, k: int = 10, exclude_seen: bool = True
    ) -> list[tuple[int, float]]:
        """The ``k`` best items for one user, best first, as (item index, score)."""
        return self.recommend_batch([user_index], k, exclude_seen=exclude_seen)[0]

    def recommend_all(self, k: int = 10, *, users=None, exclude_seen: bool = True):
        """Yield (user index, recommendations) for every user (or ``users``), in batches."""
        users = np.arange(self.n_users) if users is None else np.asarray(users, dtype=np.int64)
        for start in range(0, len(users), BATCH_USERS):
            batch = users[start : start + BATCH_USERS]
            recs = self.recommend_batch(batch, k, exclude_seen=exclude_seen)
            yield from zip(batch.tolist(), recs, strict=True)

    def similar_items(self, item_index: int, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` items most like ``item_index`` (never itself), with a positive score."""
        sims = np.asarray(self.item_similarity(item_index), dtype=np.float64).ravel().copy()
        sims[item_index] = -np.inf
        idx, vals = top_k(sims[None, :], k)
        return [
            (int(i), float(v))
            for i, v in zip(idx[0], vals[0], strict=True)
            if np.isfinite(v) and v > 0
        ]
