"""The algorithms on small matrices where the right answer is known."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations import engine
from recommendations.engine.base import top_k

# Two tastes: users 0-3 like items 0-2, users 4-7 like items 3-5. User 0 has not met item 2,
# user 4 has not met item 5; item 6 is liked by everybody a little (the popular one).
BLOCKS = np.array(
    [
        [1, 1, 0, 0, 0, 0, 1],
        [1, 1, 1, 0, 0, 0, 1],
        [1, 0, 1, 0, 0, 0, 1],
        [0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 1, 0, 1],
        [0, 0, 0, 1, 1, 1, 1],
        [0, 0, 0, 1, 0, 1, 1],
        [0, 0, 0, 0, 1, 1, 0],
    ],
    dtype=np.float32,
)
PERSONAL = ["user_knn", "item_knn", "nmf", "ease"]


def fitted(name, matrix=BLOCKS, **params):
    return engine.build(name, **params).fit(sp.csr_matrix(matrix))


@pytest.mark.parametrize("name", PERSONAL)
def test_personal_models_recommend_the_missing_item_of_the_users_taste(name):
    params = {"n_components": 2} if name == "nmf" else {}
    if name == "ease":
        params = {"l2": 1.0}
    model = fitted(name, **params)

    assert model.recommend(0, k=1)[0][0] == 2
    assert model.recommend(4, k=1)[0][0] == 5


@pytest.mark.parametrize("name", list(engine.ALGORITHMS))
def test_items_a_user_already_has_are_never_recommended(name):
    model = fitted(name)

    for user in range(BLOCKS.shape[0]):
        seen = set(np.flatnonzero(BLOCKS[user]))
        recommended = {item for item, _ in model.recommend(user, k=7)}
        assert not recommended & seen
    # Unless asked to keep them.
    assert len(model.recommend(1, k=7, exclude_seen=False)) > 0


@pytest.mark.parametrize("name", list(engine.ALGORITHMS))
def test_recommend_all_agrees_with_recommend_and_is_deterministic(name):
    first = dict(fitted(name).recommend_all(3))
    second = dict(fitted(name).recommend_all(3))

    assert first == second
    model = fitted(name)
    assert first[5] == model.recommend(5, k=3)


def test_popularity_ranks_by_number_of_users_then_weight():
    matrix = np.array([[1, 0, 0, 5], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32)
    model = fitted("popular", matrix)

    assert [i for i, _ in model.recommend(3, k=3)] == [0, 1, 3]
    assert [i for i, _ in model.recommend(0, k=3)] == [1, 2]


@pytest.mark.parametrize("name", ["item_knn", "nmf", "ease", "user_knn"])
def test_similar_items_stay_within_the_taste_and_exclude_the_item(name):
    params = {"n_components": 2} if name == "nmf" else {}
    model = fitted(name, **params)

    similar = [item for item, _ in model.similar_items(0, k=2)]

    assert 0 not in similar
    assert len(similar) == 2
    assert set(similar) <= {1, 2, 6}


def test_item_knn_most_similar_item_shares_the_most_customers():
    # Item 6 shares three customers with item 0, items 1 and 2 two each.
    assert fitted("item_knn").similar_items(0, k=1)[0][0] == 6


def test_item_knn_keeps_only_k_neighbours_per_item_sparse():
    model = fitted("item_knn", k=2)

    assert sp.issparse(model.neighbours)
    assert np.diff(model.neighbours.indptr).max() <= 2
    assert model.neighbours.diagonal().sum() == 0


def test_user_knn_scores_come_from_the_nearest_users_only():
    model = fitted("user_knn", k=1)

    # User 3's single nearest neighbour is user 1 (items 1 and 2 shared): only its items 0, 6.
    scored = {i for i, score in model.recommend(3, k=5) if score > 0}
    assert scored == {0, 6}


def test_ease_refuses_more_items_than_its_dense_bound():
    with pytest.raises(ValueError, match="max_items"):
        engine.build("ease", max_items=3).fit(sp.csr_matrix(BLOCKS))


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="unknown algorithm"):
        engine.build("deep_magic")


def test_top_k_orders_by_score_then_index_and_puts_minus_infinity_last():
    scores = np.array([[0.5, 0.9, 0.5, -np.inf, 0.1]])

    idx, vals = top_k(scores, 4)

    assert idx.tolist() == [[1, 0, 2, 4]]
    assert vals[0, 0] == pytest.approx(0.9)


def reference_top_k(scores, k):
    """The k best columns of each row by a full stable sort: score descending, index ascending."""
    idx = np.array([np.lexsort((np.arange(len(row)), -row))[:k] for row in scores])
    return idx, np.take_along_axis(scores, idx, axis=1)


def random_scores(kind, shape, rng):
    scores = rng.random(shape)
    if kind == "few values":  # ties everywhere, at the k-th place too
        scores = rng.integers(0, 4, shape).astype(np.float32)
    elif kind == "mostly seen":  # fewer finite columns than k in some rows
        scores[rng.random(shape) < 0.97] = -np.inf
    elif kind == "zeros":  # the sparse products' rows: many exact zeros
        scores = np.round(scores, 2) * (rng.random(shape) < 0.02)
    return scores


@pytest.mark.parametrize("kind", ["distinct", "few values", "mostly seen", "zeros"])
@pytest.mark.parametrize(
    "shape,k", [((40, 3000), 50), ((40, 3000), 1), ((25, 700), 20), ((5, 30), 50)]
)
def test_top_k_selects_exactly_what_a_full_sort_selects(kind, shape, k):
    # Wide rows take the grouped search, narrow ones the selection over whole rows; both
    # must give the full sort's answer, ties at the k-th place included.
    scores = random_scores(kind, shape, np.random.default_rng(len(kind) * k))

    idx, vals = top_k(scores, k)

    expected_idx, expected_vals = reference_top_k(scores, min(k, shape[1]))
    assert idx.tolist() == expected_idx.tolist()
    assert vals.tolist() == expected_vals.tolist()


def shop_like_matrix(seed=3, users=300, items=400):
    """Long-tailed: a few items most users took, most items few took; weights 1, 3 or 5."""
    rng = np.random.default_rng(seed)
    appeal = rng.pareto(1.2, items) + 0.05
    cells = sp.dok_matrix((users, items), dtype=np.float32)
    for user in range(users):
        for item in rng.choice(items, size=int(rng.integers(1, 30)), p=appeal / appeal.sum()):
            cells[user, item] = rng.choice([1.0, 3.0, 5.0])
    return cells.tocsr()


@pytest.mark.parametrize("name", list(engine.ALGORITHMS))
def test_every_customers_stored_top_k_is_the_full_ranking_of_their_unseen_items(name):
    matrix = shop_like_matrix()
    model = fitted(name, matrix)

    for users, items, scores in model.recommend_all_arrays(10):
        dense = np.asarray(model.score_users(users), dtype=np.float64)
        dense[matrix[users].toarray() > 0] = -np.inf
        expected_idx, expected_vals = reference_top_k(dense, 10)
        assert items.tolist() == expected_idx.tolist()
        assert scores.tolist() == expected_vals.tolist()


@pytest.mark.parametrize("name", list(engine.ALGORITHMS))
def test_every_products_stored_similar_items_are_the_full_ranking_of_its_similarities(name):
    model = fitted(name, shop_like_matrix())

    found = 0
    for items, similar, scores in model.similar_items_arrays(10):
        for row, item in enumerate(items):
            sims = np.asarray(model.item_similarity(int(item)), dtype=np.float64).copy()
            sims[item] = -np.inf
            order = [i for i in np.lexsort((np.arange(len(sims)), -sims)) if sims[i] > 0][:10]
            kept = np.isfinite(scores[row])
            assert similar[row][kept].tolist() == order
            assert scores[row][kept].tolist() == pytest.approx(sims[order].tolist(), rel=1e-6)
            found += len(order)
    assert found > 0


def test_user_knn_item_similarity_is_the_cosine_of_the_items_customer_columns():
    matrix = shop_like_matrix()
    dense = matrix.toarray().astype(np.float64)
    norms = np.linalg.norm(dense, axis=0)
    norms[norms == 0] = 1.0
    expected = (dense.T @ dense) / np.outer(norms, norms)

    model = fitted("user_knn", matrix)

    assert model.item_similarities(np.arange(400)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("shrink", [0.0, 10.0])
def test_top_k_cosine_keeps_each_rows_k_most_similar_other_rows(shrink):
    from recommendations.engine.models import topk_cosine

    rows = shop_like_matrix(users=600, items=80)
    dense = rows.toarray().astype(np.float64)
    norms = np.linalg.norm(dense, axis=1)
    cosine = (dense @ dense.T) / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(cosine, -np.inf)

    kept = topk_cosine(rows, 20, shrink).toarray()

    for row in range(600):
        order = [i for i in np.lexsort((np.arange(600), -cosine[row]))[:20] if cosine[row, i] > 0]
        # Computed in float32: near-ties may fall either way, nothing less similar is kept.
        chosen = np.flatnonzero(kept[row])
        assert len(chosen) == len(order)
        assert (cosine[row, chosen] >= cosine[row, order[-1]] - 1e-6).all()
        assert kept[row, chosen] == pytest.approx(cosine[row, chosen], rel=1e-5)


def test_user_knn_draws_neighbours_from_the_most_active_users_past_its_pool():
    model = fitted("user_knn", max_pool=4, k=3)

    # The four most active users are 1, 5 (four items each), then 0 and 2 (three each).
    neighbours = set(model.neighbours.indices.tolist())
    assert neighbours <= {0, 1, 2, 5}
    assert 1 in model.neighbours[3].indices.tolist()


# --- recency-aware EASE --------------------------------------------------------------------
def _cells(rows):
    """A user x item matrix (ones) and its times from [(user, item, time)]."""
    users, items, times = (np.array(column) for column in zip(*rows, strict=True))
    shape = (users.max() + 1, items.max() + 1)
    ones = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=shape)
    return ones, sp.csr_matrix((times.astype(float), (users, items)), shape=shape)


def test_recent_ease_without_times_scores_exactly_as_ease():
    matrix, _ = _cells([(0, 0, 1), (0, 1, 2), (1, 1, 1), (1, 2, 2), (2, 0, 1), (2, 2, 2)])
    plain = engine.build("ease", l2=1.0).fit(matrix)
    recent = engine.build("recent_ease", l2=1.0).fit(matrix)
    users = np.arange(3)
    assert np.allclose(plain.score_users(users), recent.score_users(users))


def test_recency_ranks_count_the_users_more_recent_items():
    from recommendations.engine.base import aligned_times
    from recommendations.engine.models import recency_ranks

    matrix, times = _cells([(0, 0, 30), (0, 1, 10), (0, 2, 20), (1, 1, 5)])
    assert recency_ranks(matrix, aligned_times(matrix, times)).tolist() == [0, 2, 1, 0]


def test_what_customers_took_next_after_the_latest_item_comes_first():
    # Many customers bought 0 then 1, and 2 then 3; the customer's latest item is 2.
    rows = []
    for user in range(6):
        rows += [(user, 0, 1), (user, 1, 2), (user, 2, 3), (user, 3, 4)]
    rows += [(6, 0, 1), (6, 2, 5)]
    matrix, times = _cells(rows)
    model = engine.build("recent_ease", l2=1.0, half_life=1.0, transitions=1.0)
    model.fit(matrix, times)

    assert [item for item, _ in model.recommend(6, k=2)] == [3, 1]


def test_the_latest_items_weigh_more_than_old_ones():
    # Items 0/1 go together, as do 2/3; the customer took 0 long ago and 2 just now.
    rows = [(u, 0, 1) for u in range(4)] + [(u, 1, 2) for u in range(4)]
    rows += [(u, 2, 1) for u in range(4, 8)] + [(u, 3, 2) for u in range(4, 8)]
    rows += [(8, 0, 1), (8, 2, 100)]
    matrix, times = _cells(rows)
    plain = engine.build("recent_ease", l2=1.0, half_life=None, transitions=0.0)
    recent = engine.build("recent_ease", l2=1.0, half_life=0.5, transitions=0.0)

    first_plain = plain.fit(matrix, times).score_users(np.array([8]))[0]
    first_recent = recent.fit(matrix, times).score_users(np.array([8]))[0]
    assert first_plain[1] == pytest.approx(first_plain[3])
    assert first_recent[3] > first_recent[1]


def test_an_interactions_time_matrix_keeps_each_cells_latest_time():
    from recommendations.engine.evaluation import Interactions

    data = Interactions(
        users=np.array([0, 0, 1]),
        items=np.array([1, 1, 0]),
        values=np.ones(3, dtype=np.float32),
        times=np.array([5.0, 9.0, 3.0]),
        n_users=2,
        n_items=2,
    )
    assert data.time_matrix().toarray().tolist() == [[0.0, 9.0], [3.0, 0.0]]


# --- explanations ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["item_knn", "ease", "recent_ease"])
def test_an_item_based_recommendation_names_the_customers_item_behind_it(name):
    # Items 0/1 go together, as do 2/3; customer 8 has 0 and 2, so 1 comes from 0, 3 from 2.
    rows = [(u, 0, 1) for u in range(4)] + [(u, 1, 2) for u in range(4)]
    rows += [(u, 2, 1) for u in range(4, 8)] + [(u, 3, 2) for u in range(4, 8)]
    rows += [(8, 0, 1), (8, 2, 2)]
    matrix, times = _cells(rows)
    model = engine.build(name, l2=1.0) if "ease" in name else engine.build(name)
    model.fit(matrix, times)

    items = np.array([[1, 3]])
    assert model.anchors(np.array([8]), items).tolist() == [[0, 2]]


@pytest.mark.parametrize("name", ["popular", "user_knn", "nmf"])
def test_models_that_do_not_score_through_items_name_no_item(name):
    matrix, _ = _cells([(0, 0, 1), (0, 1, 2), (1, 1, 1), (1, 2, 2), (2, 0, 1), (2, 2, 2)])
    model = engine.build(name).fit(matrix)
    assert (model.anchors(np.array([0, 1]), np.array([[2], [0]])) == -1).all()


# --- cold start ------------------------------------------------------------------------------
def test_the_hybrid_recommends_a_product_nobody_took_that_is_like_the_customers():
    from recommendations.engine.base import SideInfo

    # Items 0-2 are books, 3-5 kitchen goods; item 6 is a new book nobody took yet.
    rows = [(u, i, 1) for u in range(4) for i in (0, 1, 2)]
    rows += [(u, i, 1) for u in range(4, 8) for i in (3, 4, 5)] + [(8, 0, 1)]
    matrix, times = _cells(rows)
    matrix = sp.csr_matrix(matrix, shape=(9, 7))
    times = sp.csr_matrix(times, shape=(9, 7))
    books = [0, 1, 2, 6]
    features = sp.csr_matrix(
        ([1.0] * 7, (range(7), [0 if i in books else 1 for i in range(7)])), shape=(7, 2)
    )

    plain = engine.build("recent_ease", l2=1.0).fit(matrix, times)
    hybrid = engine.build("hybrid", l2=1.0, content=1.0, graph=0.0, warm=3.0)
    hybrid.fit(matrix, times, SideInfo(features=features))

    assert 6 not in [item for item, _ in plain.recommend(8, k=2)]
    assert 6 in [item for item, _ in hybrid.recommend(8, k=3)]
    assert hybrid.item_reasons(np.array([6, 1])).tolist() == ["new", "similar_items"]


def test_catalog_edges_lead_the_hybrid_to_an_accessory():
    from recommendations.engine.base import SideInfo

    rows = [(u, i, 1) for u in range(4) for i in (0, 1)] + [(4, 0, 1)]
    matrix, times = _cells(rows)
    matrix, times = sp.csr_matrix(matrix, shape=(5, 4)), sp.csr_matrix(times, shape=(5, 4))
    graph = sp.csr_matrix(([1.0], ([0], [3])), shape=(4, 4))  # 3 is 0's accessory

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=1.0)
    hybrid.fit(matrix, times, SideInfo(graph=graph))

    assert [item for item, _ in hybrid.recommend(4, k=2)] == [1, 3]


def _two_tastes_with_a_new_book():
    """Users 0-5 took the books 0-2, users 6-11 the kitchen goods 3-5; user 12 took book 0
    only, user 13 kitchen good 3 only. Item 6 is a new book nobody took. Features: the
    category (book or kitchen) and one attribute of each item's own."""
    from recommendations.engine.base import SideInfo

    rows = [(u, i, 1) for u in range(6) for i in (0, 1, 2)]
    rows += [(u, i, 1) for u in range(6, 12) for i in (3, 4, 5)]
    rows += [(12, 0, 1), (13, 3, 1)]
    matrix, times = _cells(rows)
    matrix, times = sp.csr_matrix(matrix, shape=(14, 7)), sp.csr_matrix(times, shape=(14, 7))
    books = [0, 1, 2, 6]
    category = [0 if i in books else 1 for i in range(7)]
    features = sp.csr_matrix(
        ([1.0] * 14, (list(range(7)) * 2, category + [2 + i for i in range(7)])), shape=(7, 9)
    )
    return matrix, times, SideInfo(features=features)


def test_the_content_mapping_places_a_new_item_among_the_items_that_resemble_it():
    matrix, times, side = _two_tastes_with_a_new_book()

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=1.0, mapping_l2=0.1)
    hybrid.fit(matrix, times, side)

    column = hybrid.weights[:, 6]
    books, kitchen = hybrid.weights[:, [0, 1, 2]].mean(1), hybrid.weights[:, [3, 4, 5]].mean(1)

    def cosine(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    assert cosine(column, books) > 0.9 > cosine(column, kitchen)
    assert column[6] == 0.0  # never its own weight
    # So the book reader is offered the new book and the cook is not.
    scores = hybrid.score_users(np.array([12, 13]))
    assert scores[0, 6] > scores[1, 6]
    assert 6 in [item for item, _ in hybrid.recommend(12, k=3)]
    assert [item for item, _ in hybrid.recommend(13, k=2)] == [4, 5]


def test_without_the_mapping_a_new_item_has_no_collaborative_score():
    matrix, times, side = _two_tastes_with_a_new_book()

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=0.0)
    hybrid.fit(matrix, times, side)

    assert not hybrid.weights[:, 6].any()
    assert hybrid.score_users(np.array([12]))[0, 6] == 0.0


def _taken_by(matrix, times, item, users):
    """``matrix`` and ``times`` with ``item`` taken by ``users`` too (at time 2)."""
    taken, taken_times = sp.lil_matrix(matrix), sp.lil_matrix(times)
    for user in users:
        taken[user, item], taken_times[user, item] = 1.0, 2.0
    return sp.csr_matrix(taken), sp.csr_matrix(taken_times)


def _learned_and_mapped(matrix, times, side, item):
    """The column of ``item`` as EASE learns it (no mapping) and as the content mapping
    predicts it (the ridge fitted on the known items' columns, on their rows only)."""
    from recommendations.engine.models import content_mapping, content_vectors

    plain = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=0.0)
    plain.fit(matrix, times, side)
    known = np.flatnonzero(plain.taken >= plain.warm)
    vectors = content_vectors(side.features)
    ridge = content_mapping(vectors, plain.weights[known], known, plain.mapping_l2)
    mapped = np.zeros(plain.n_items)
    mapped[known] = ridge.predict(vectors[[item]].toarray())[0]
    mapped[item] = 0.0
    return plain.weights[:, item].astype(np.float64), mapped


def test_the_learned_share_is_nothing_for_an_untaken_item_and_grows_to_all():
    from recommendations.engine.models import learned_share

    share = learned_share(np.array([0, 1, 4, 16, 10_000]), 4.0)

    assert share.tolist()[:4] == [0.0, 1 / 5, 4 / 8, 16 / 20]
    assert share[-1] > 0.999
    assert (np.diff(share) > 0).all()


def test_the_column_of_an_item_nobody_took_is_the_mapped_one():
    matrix, times, side = _two_tastes_with_a_new_book()
    _, mapped = _learned_and_mapped(matrix, times, side, 6)

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=1.0, shrinkage=2.0)
    hybrid.fit(matrix, times, side)

    assert np.abs(mapped).max() > 0.01  # the check below is not between two zero columns
    np.testing.assert_allclose(hybrid.weights[:, 6], mapped, atol=1e-6)


@pytest.mark.parametrize("share", [0.001, 0.3])
def test_scoring_through_a_sparse_item_matrix_is_the_plain_product(share):
    # Below the dense share the product stays sparse, above it a dense copy is multiplied.
    weights = sp.random(400, 400, density=share, format="csr", dtype=np.float32, random_state=6)
    rows = shop_like_matrix()[:50]
    model = fitted("popular", shop_like_matrix())

    product = model.times_items(rows, weights)

    expected = rows.toarray().astype(np.float64) @ weights.toarray().astype(np.float64)
    assert product == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_ease_models_of_one_run_share_the_inverse_and_score_as_if_fitted_alone():
    from recommendations.engine import models

    matrix = shop_like_matrix()
    alone = {name: fitted(name, matrix) for name in ("ease", "recent_ease", "hybrid")}
    inverses = []
    original = models.EASE._inverse

    def counted(self, m):
        inverses.append(m.shape)
        return original(self, m)

    models.EASE._inverse = counted
    try:
        with engine.shared_ease():
            shared = {name: fitted(name, matrix) for name in alone}
            other_l2 = fitted("ease", matrix, l2=50.0)
    finally:
        models.EASE._inverse = original

    assert len(inverses) == 2  # one for L2 500, one for L2 50
    for name, model in alone.items():
        assert np.array_equal(shared[name].weights, model.weights)
        assert dict(shared[name].recommend_all(5)) == dict(model.recommend_all(5))
    assert not np.allclose(other_l2.weights, alone["ease"].weights)
    # Outside the block nothing is kept.
    assert models._shared is None


def test_a_new_items_column_blends_learned_and_mapped_by_its_interactions():
    matrix, times, side = _two_tastes_with_a_new_book()
    # Two readers of the books take the new book too: taken twice, under warm (5).
    matrix, times = _taken_by(matrix, times, 6, (0, 1))
    learned, mapped = _learned_and_mapped(matrix, times, side, 6)

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=1.0, shrinkage=3.0)
    hybrid.fit(matrix, times, side)

    # n / (n + shrinkage) = 2 / 5 learned, the rest mapped; the two differ, so neither alone
    # (no blend, or the fade of before) passes.
    assert np.abs(learned - mapped).max() > 0.01
    np.testing.assert_allclose(hybrid.weights[:, 6], 0.4 * learned + 0.6 * mapped, atol=1e-6)


def test_with_many_interactions_against_the_shrinkage_a_column_is_the_learned_one():
    matrix, times, side = _two_tastes_with_a_new_book()
    matrix, times = _taken_by(matrix, times, 6, (0, 1, 2, 3))
    learned, mapped = _learned_and_mapped(matrix, times, side, 6)

    def column(shrinkage):
        hybrid = engine.build(
            "hybrid", l2=1.0, content=0.0, graph=0.0, mapping=1.0, shrinkage=shrinkage
        )
        return hybrid.fit(matrix, times, side).weights[:, 6].astype(np.float64)

    # Taken 4 times: the less the mapped column is worth, the nearer the learned one.
    gaps = [np.abs(column(s) - learned).max() for s in (100.0, 1.0, 0.01)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-2 * np.abs(learned - mapped).max()


def test_without_the_mapping_a_taken_new_items_column_is_the_learned_one():
    matrix, times, side = _two_tastes_with_a_new_book()
    matrix, times = _taken_by(matrix, times, 6, (0, 1))
    learned, _ = _learned_and_mapped(matrix, times, side, 6)

    hybrid = engine.build("hybrid", l2=1.0, content=0.0, graph=0.0, mapping=0.0, shrinkage=3.0)
    hybrid.fit(matrix, times, side)

    np.testing.assert_array_equal(hybrid.weights[:, 6], learned.astype(np.float32))
