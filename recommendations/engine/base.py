"""The interface every algorithm implements, and the ranking shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Users scored together: a batch x items block of float32 is the only dense thing built.
BATCH_USERS = 512
# A sparse item x item matrix with at least this share of its cells filled is multiplied as a
# dense copy when scoring (up to ``DENSE_ITEMS`` items: the copy holds items^2 floats).
DENSE_SHARE = 0.01
DENSE_ITEMS = 10000


def as_csr(matrix) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def _top_k_exact(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``top_k`` by selection over whole rows: the k-th value of each row, every column above
    it, then the columns equal to it in index order until there are ``k``."""
    rows, n = scores.shape
    if k < n:
        kth = np.partition(scores, n - k, axis=1)[:, n - k : n - k + 1]
        chosen = scores >= kth
        tied = np.flatnonzero(chosen.sum(axis=1) > k)
        if len(tied):
            # More columns than room reach the k-th value: the lowest-indexed of them fill it.
            some, at = scores[tied], kth[tied]
            equal = some == at
            room = k - (some > at).sum(axis=1, keepdims=True)
            chosen[tied] = (some > at) | (equal & (np.cumsum(equal, axis=1) <= room))
        # Exactly k per row, found in row order: the columns of row r are the r-th k.
        part = np.nonzero(chosen)[1].reshape(rows, k)
    else:
        part = np.tile(np.arange(n), (rows, 1))
    return _ordered(part, np.take_along_axis(scores, part, axis=1))


def _ordered(part: np.ndarray, part_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Stable order: by score descending, then by item index ascending (determinism).
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` best columns of each row, best first (ties: lower index).

    Rows of -inf (seen or impossible items) sort last; the caller drops them.

    Selecting over a whole row costs about as much as scoring it, so most of it is skipped:
    the columns are dealt into groups (column c to group c mod G), each group's maximum taken
    in one pass, and only the ``k`` groups with the highest maxima searched. Those groups hold
    the row's ``k`` best: at least k values reach the k-th highest maximum, so the k-th best
    value is at least that, and every value that high sits in a group whose maximum is as
    high. Where ties make that choice ambiguous (another group's maximum equals the k-th, or
    the k-th best value is tied among the candidates), the row is selected over all its
    columns instead, so the answer is always the exact one.
    """
    scores = np.asarray(scores)
    rows, n = scores.shape
    k = min(k, n)
    if k <= 0:
        empty = np.zeros((rows, 0))
        return empty.astype(np.int64), empty
    # Group width balancing one pass over the row against a search over k groups of it.
    width = max(2, int(np.sqrt(n / k)))
    groups = n // width
    if groups <= 2 * k or not rows:
        return _top_k_exact(scores, k)
    maxima = scores[:, : groups * width].reshape(rows, width, groups).max(axis=1)
    # (np.partition finds a row's k-th value several times faster than np.argpartition.)
    threshold = np.partition(maxima, groups - k, axis=1)[:, groups - k : groups - k + 1]
    best, clear = _exactly_k(maxima >= threshold, k)
    # Candidate columns: the members of the chosen groups, plus the columns no group holds.
    members = (best[:, :, None] + groups * np.arange(width)[None, None, :]).reshape(rows, -1)
    tail = np.arange(groups * width, n)
    members = np.concatenate([members, np.broadcast_to(tail, (rows, len(tail)))], axis=1)
    values = scores.ravel().take(members + (np.arange(rows) * n)[:, None])
    m = values.shape[1]
    kth = np.partition(values, m - k, axis=1)[:, m - k : m - k + 1]
    pick, clear_values = _exactly_k(values >= kth, k)
    clear &= clear_values
    idx, vals = _ordered(
        np.take_along_axis(members, pick, axis=1), np.take_along_axis(values, pick, axis=1)
    )
    unclear = np.flatnonzero(~clear)
    if len(unclear):
        idx[unclear], vals[unclear] = _top_k_exact(scores[unclear], k)
    return idx, vals


def _exactly_k(mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The column indices of each row's True cells, for the rows with exactly ``k`` of them
    (the others, marked False in the second array, get the first k columns as placeholders)."""
    clear = mask.sum(axis=1) == k
    if not clear.all():
        mask = mask.copy()
        mask[~clear] = np.arange(mask.shape[1]) < k
    return np.nonzero(mask)[1].reshape(mask.shape[0], k), clear


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

    def item_similarities(self, items: np.ndarray) -> np.ndarray:
        """Similarity of each of ``items`` to every item (dense, len(items) x n_items): one
        ``item_similarity`` row per item unless a model computes the block at once."""
        return np.stack([np.asarray(self.item_similarity(int(item))).ravel() for item in items])

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
        self._dense_copies: dict[int, tuple] = {}
        self.matrix = as_csr(matrix)
        if times is None:
            self._fit(self.matrix)
        else:
            self._fit_times(self.matrix, aligned_times(self.matrix, times))
        return self

    def times_items(self, rows: sp.csr_matrix, weights) -> np.ndarray:
        """``rows @ weights`` as a dense array, for an item x item ``weights``.

        Scoring a batch of customers through a sparse item x item matrix that is not very
        sparse (kNN neighbourhoods, transitions) made scipy build a large sparse product only
        to turn it dense; multiplying by a dense copy of the matrix, made once, does the same
        arithmetic several times faster (the sums may differ in the last float32 bit).
        """
        if not sp.issparse(weights):
            return np.asarray(rows @ weights)
        n, m = weights.shape
        if m > DENSE_ITEMS or weights.nnz < DENSE_SHARE * n * m:
            return (rows @ weights).toarray()
        copies = self.__dict__.setdefault("_dense_copies", {})
        if id(weights) not in copies:  # the matrix is kept with its copy: its id stays unique
            copies[id(weights)] = (weights, weights.toarray())
        return np.asarray(rows @ copies[id(weights)][1])

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
        # Ranked in the precision the model scores in (float32 for most): widening first would
        # double the memory the selection reads and change no order.
        scores = np.asarray(self.score_users(users))
        if not np.issubdtype(scores.dtype, np.floating):
            scores = scores.astype(np.float64)
        if exclude_seen:
            self._mask_seen(users, scores)
        idx, vals = top_k(scores, k)
        return idx, vals.astype(np.float64, copy=False)

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

    def similar_items_arrays(self, k: int, *, items=None):
        """Yield (item indices, similar items, scores) per batch of items, best first, never an
        item itself: for bulk storage. Only positive finite scores count as similar (the
        others are -inf, and sort last)."""
        items = np.arange(self.n_items) if items is None else np.asarray(items, dtype=np.int64)
        for start in range(0, len(items), BATCH_USERS):
            batch = items[start : start + BATCH_USERS]
            sims = np.array(self.item_similarities(batch), copy=True)
            if not np.issubdtype(sims.dtype, np.floating):
                sims = sims.astype(np.float64)
            sims[~(sims > 0)] = -np.inf  # nothing like it (NaN included)
            sims[np.arange(len(batch)), batch] = -np.inf
            idx, vals = top_k(sims, k)
            yield batch, idx, vals.astype(np.float64, copy=False)

    def similar_items(self, item_index: int, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` items most like ``item_index`` (never itself), with a positive score."""
        _, idx, vals = next(self.similar_items_arrays(k, items=[item_index]))
        return [(int(i), float(v)) for i, v in zip(idx[0], vals[0], strict=True) if np.isfinite(v)]
