"""Offline quality of every algorithm on a public data set (never stored in the shop).

manage.py evaluate_recommendations --dataset ml-100k --split random --seed 42 --k 10

Splits: ``random`` (a seeded 20% of each user's items), ``temporal`` (each user's latest 20%),
``cold`` (20% of the items become new: their ``--cold-keep`` (4) earliest interactions stay in
training, the rest is the test; only those new items are ranked, or all items with
``--cold-rank all``).
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from recommendations import engine
from recommendations.engine.datasets import load_movielens_100k, load_movielens_100k_side
from recommendations.engine.evaluation import cold_item_split, evaluate, holdout_mask, tune

COLUMNS = ("precision", "recall", "ndcg", "hit_rate", "coverage", "fit_seconds")


class Command(BaseCommand):
    help = "Evaluate the recommendation algorithms on MovieLens-100k (full ranking, top-k)."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="ml-100k", choices=["ml-100k"])
        parser.add_argument("--path", help="ml-100k.inter to read instead of recbole's copy")
        parser.add_argument("--split", default="random", choices=["random", "temporal", "cold"])
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument(
            "--cold-keep", type=int, default=4, help="cold split: interactions kept"
        )
        parser.add_argument("--cold-rank", default="new", choices=["new", "all"])
        parser.add_argument(
            "--algorithms", nargs="+", default=list(engine.ALGORITHMS), choices=engine.ALGORITHMS
        )
        parser.add_argument(
            "--no-tune",
            action="store_true",
            help="use default hyperparameters instead of searching them on a validation split",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options):
        try:
            data, _, item_ids = load_movielens_100k(options["path"])
            side = load_movielens_100k_side(item_ids, options["path"])
        except (FileNotFoundError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        seed, k, split = options["seed"], options["k"], options["split"]
        candidates = None
        if split == "cold":
            test_mask, candidates = cold_item_split(data, keep=options["cold_keep"], seed=seed)
            candidates = None if options["cold_rank"] == "all" else candidates
        else:
            test_mask = holdout_mask(data, split=split, seed=seed)
        train_data = data.subset(~test_mask)
        train, test = data.matrix(~test_mask), data.matrix(test_mask)
        train_times = data.time_matrix(~test_mask)
        results = []
        for name in options["algorithms"]:
            started = time.perf_counter()
            if options["no_tune"]:
                params, validation = {"seed": seed}, None
            else:
                tuned = tune(
                    name,
                    train_data,
                    split=split,
                    seed=seed,
                    k=k,
                    side=side,
                    cold_keep=options["cold_keep"],
                    cold_rank_all=options["cold_rank"] == "all",
                )
                params, validation = tuned.params, tuned.validation["ndcg"]
            tuning_seconds = time.perf_counter() - started
            metrics = evaluate(
                name,
                params,
                train,
                test,
                k=k,
                train_times=train_times,
                side=side,
                candidates=candidates,
            )
            results.append(
                {
                    "algorithm": name,
                    "params": params,
                    "validation_ndcg": validation,
                    "tuning_seconds": round(tuning_seconds, 2),
                    **{c: metrics[c] for c in COLUMNS},
                    "users": metrics["users"],
                }
            )
        summary = {
            "dataset": options["dataset"],
            "split": split,
            "seed": seed,
            "k": k,
            "users": data.n_users,
            "items": data.n_items,
            "interactions": len(data.users),
            "train": int(train.nnz),
            "test": int(test.nnz),
            "results": results,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"{options['dataset']}, {split} split (seed {seed}): {data.n_users} users, "
            f"{data.n_items} items, train {train.nnz}, test {test.nnz}; metrics @{k}"
        )
        header = f"{'algorithm':<10}" + "".join(f"{c:>12}" for c in COLUMNS) + "  params"
        self.stdout.write(header)
        for row in results:
            shown = {p: v for p, v in row["params"].items() if p != "seed"}
            self.stdout.write(
                f"{row['algorithm']:<10}"
                + "".join(f"{row[c]:>12.4f}" for c in COLUMNS)
                + f"  {shown}"
            )
