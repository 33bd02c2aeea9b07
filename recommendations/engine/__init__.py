"""Recommendation algorithms on a sparse user x item matrix: pure numpy/scipy/scikit-learn.

Nothing here knows about Django. Every model follows one interface (``Recommender``):
``fit(matrix)``, ``recommend(user_index, k)``, ``recommend_all(k)``, ``similar_items(item, k)``.
"""

from recommendations.engine.base import Recommender
from recommendations.engine.models import (
    EASE,
    Hybrid,
    ItemKNN,
    NMFRecommender,
    Popularity,
    RecentEASE,
    UserKNN,
    shared_ease,
)

ALGORITHMS: dict[str, type[Recommender]] = {
    "popular": Popularity,
    "user_knn": UserKNN,
    "item_knn": ItemKNN,
    "nmf": NMFRecommender,
    "ease": EASE,
    "recent_ease": RecentEASE,
    "hybrid": Hybrid,
}


def build(name: str, **params) -> Recommender:
    """A fresh, unfitted model of algorithm ``name`` with ``params`` over its defaults."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None
    return cls(**params)


__all__ = [
    "ALGORITHMS",
    "EASE",
    "Hybrid",
    "ItemKNN",
    "NMFRecommender",
    "Popularity",
    "RecentEASE",
    "Recommender",
    "UserKNN",
    "build",
    "shared_ease",
]
