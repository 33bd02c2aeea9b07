"""The evaluation protocol on a synthetic matrix (ML-100k itself runs from the command)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.base import Recommender
from recommendations.engine.evaluation import Interactions, holdout_mask, ranking_metrics, tune


def synthetic(n_users=30, n_items=40, per_user=10, seed=0):
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for u in range(n_users):
        chosen = rng.choice(n_items, size=per_user, replace=False)
        users += [u] * per_user
        items += chosen.tolist()
        times += rng.permutation(per_user).tolist()
    return Interactions(
        np.array(users),
        np.array(items),
        np.ones(len(users), dtype=np.float32),
        np.array(times, dtype=float),
        n_users,
        n_items,
    )


def test_random_holdout_takes_a_fifth_of_each_users_items_and_is_seeded():
    data = synthetic()

    mask = holdout_mask(data, split="random", seed=1)

    per_user = np.bincount(data.users[mask], minlength=data.n_users)
    assert (per_user == 2).all()
    assert (holdout_mask(data, split="random", seed=1) == mask).all()
    assert not (holdout_mask(data, split="random", seed=2) == mask).all()


def test_temporal_holdout_takes_each_users_latest_items():
    data = synthetic()

    mask = holdout_mask(data, split="temporal")

    for u in range(data.n_users):
        own = data.users == u
        assert data.times[own & mask].min() > data.times[own & ~mask].max()


def test_a_user_with_one_interaction_keeps_it_for_training():
    data = Interactions(np.array([0, 1, 1]), np.array([0, 0, 1]), np.ones(3), None, 2, 2)

    mask = holdout_mask(data)

    assert mask.tolist()[0] is False
    assert mask[1:].sum() == 1


class Oracle(Recommender):
    """Scores the held-out items highest: a known-perfect model for the metrics."""

    def __init__(self, test):
        super().__init__()
        self.test = test

    def _fit(self, matrix):
        pass

    def score_users(self, users):
        return self.test[users].toarray() + np.linspace(0, 0.01, self.test.shape[1])


def test_metrics_of_a_perfect_ranking_and_of_a_hopeless_one():
    data = synthetic()
    mask = holdout_mask(data)
    train, test = data.matrix(~mask), data.matrix(mask)

    perfect = ranking_metrics(Oracle(test).fit(train), train, test, k=2)
    assert perfect["precision"] == pytest.approx(1.0)
    assert perfect["recall"] == pytest.approx(1.0)
    assert perfect["ndcg"] == pytest.approx(1.0)
    assert perfect["hit_rate"] == pytest.approx(1.0)

    hopeless = ranking_metrics(Oracle(sp.csr_matrix(test.shape)).fit(train), train, test, k=2)
    assert hopeless["ndcg"] < perfect["ndcg"]


def test_ndcg_rewards_a_hit_at_the_top_more_than_lower_down():
    train = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0, 0]], dtype=np.float32))

    class Fixed(Recommender):
        def __init__(self, scores):
            super().__init__()
            self.scores = np.array([scores], dtype=float)

        def _fit(self, matrix):
            pass

        def score_users(self, users):
            return self.scores

    first = ranking_metrics(Fixed([0, 3, 2, 1]).fit(train), train, test, k=3)
    third = ranking_metrics(Fixed([0, 1, 3, 2]).fit(train), train, test, k=3)

    assert first["ndcg"] == pytest.approx(1.0)
    assert third["ndcg"] == pytest.approx(0.5)
    assert first["precision"] == third["precision"] == pytest.approx(1 / 3)
    assert first["coverage"] == pytest.approx(3 / 4)


def test_tuning_picks_parameters_on_a_validation_split_carved_from_train():
    data = synthetic(seed=3)
    test_mask = holdout_mask(data, seed=42)
    train_data = data.subset(~test_mask)

    result = tune("ease", train_data, grids={"ease": {"l2": [1.0, 10.0]}}, seed=42)

    assert result.params["l2"] in (1.0, 10.0)
    assert len(result.trials) == 2
    # The validation users' held-out items all come from the training part.
    assert result.validation["users"] <= data.n_users
