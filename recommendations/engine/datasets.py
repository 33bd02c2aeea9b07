"""Public data sets for offline evaluation (read from disk, never stored in the shop)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import SideInfo
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


# Knowledge-graph relations that link a film to the people who made it: films sharing one of
# these are neighbours in the graph (as products sharing an accessory are in the shop).
FILM_PEOPLE = {
    "film.film.actor",
    "film.film.directed_by",
    "film.film.written_by",
    "film.film.produced_by",
}
# A person in more films than this links too much to say anything.
MAX_FILMS_PER_PERSON = 50


def load_movielens_100k_side(item_ids: np.ndarray, path: Path | None = None) -> SideInfo:
    """What is known about MovieLens-100k's films besides ratings, for the items ``item_ids``
    (raw ids, in the matrix's column order): features = genres, release year and decade; graph =
    films sharing a director, writer, producer or actor (from the knowledge graph that comes
    with the data set), each shared person weighing 1 / ln(2 + films of that person)."""
    folder = (Path(path) if path else movielens_100k_path()).parent
    column = {int(raw): index for index, raw in enumerate(np.asarray(item_ids).tolist())}
    rows, tokens = [], []
    with open(folder / "ml-100k.item", encoding="latin-1") as lines:
        next(lines)
        for line in lines:
            raw_id, _title, year, genres = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
            index = column.get(int(raw_id))
            if index is None:
                continue
            found = [f"genre:{g}" for g in genres.split()]
            if year.isdigit():
                found += [f"decade:{int(year) // 10 * 10}", f"year:{year}"]
            rows += [index] * len(found)
            tokens += found
    vocabulary = {token: n for n, token in enumerate(sorted(set(tokens)))}
    features = sp.csr_matrix(
        (np.ones(len(tokens), dtype=np.float32), (rows, [vocabulary[t] for t in tokens])),
        shape=(len(column), len(vocabulary)),
    )
    film_of: dict[str, int] = {}
    with open(folder / "ml-100k.link", encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            raw_id, entity = line.rstrip("\n").split("\t")
            if int(raw_id) in column:
                film_of[entity] = column[int(raw_id)]
    films_of_person: dict[str, set[int]] = {}
    with open(folder / "ml-100k.kg", encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            head, relation, tail = line.rstrip("\n").split("\t")
            if relation in FILM_PEOPLE and head in film_of:
                films_of_person.setdefault(tail, set()).add(film_of[head])
    sources, targets, weights = [], [], []
    for films in films_of_person.values():
        if 2 <= len(films) <= MAX_FILMS_PER_PERSON:
            films = sorted(films)
            weight = 1.0 / np.log(2 + len(films))
            for a in films:
                for b in films:
                    if a != b:
                        sources.append(a)
                        targets.append(b)
                        weights.append(weight)
    graph = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float32), (sources, targets)), shape=(len(column),) * 2
    )
    graph.sum_duplicates()
    return SideInfo(features=features, graph=graph)
