"""Public data sets for offline evaluation (read from disk, never stored in the shop)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from recommendations.engine.evaluation import Interactions


def movielens_100k_path() -> Path:
    """``ml-100k.inter`` as shipped in the recbole wheel (installed without dependencies)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "MovieLens-100k comes with recbole: pip install --no-deps -r requirements-eval.txt"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "dataset_example/ml-100k/ml-100k.inter"
    )
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def load_movielens_100k(path: Path | None = None) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """Ratings as implicit positives (value 1), with times; also the raw user and item ids."""
    path = Path(path) if path else movielens_100k_path()
    raw = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.float64)
    user_ids, users = np.unique(raw[:, 0].astype(np.int64), return_inverse=True)
    item_ids, items = np.unique(raw[:, 1].astype(np.int64), return_inverse=True)
    data = Interactions(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        values=np.ones(len(raw), dtype=np.float32),
        times=raw[:, 3],
        n_users=len(user_ids),
        n_items=len(item_ids),
    )
    return data, user_ids, item_ids
