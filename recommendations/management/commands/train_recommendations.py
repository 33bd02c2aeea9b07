"""Train the recommendation models now (the nightly task runs the same service)."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from recommendations import engine, training
from recommendations.models import ModelVersion

STAGES_PER_ALGORITHM = 3  # evaluated, fitted, stored


class Command(BaseCommand):
    help = "Train the recommendation algorithms, store their output and switch serving to them."

    def add_arguments(self, parser):
        parser.add_argument("--algorithms", nargs="+", choices=list(engine.ALGORITHMS))
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        from django.conf import settings

        algorithms = options["algorithms"] or settings.RECOMMENDATIONS_ALGORITHMS
        bar = tqdm(
            total=1 + STAGES_PER_ALGORITHM * len(algorithms),
            disable=options["no_progress"],
            unit="step",
        )

        def progress(message: str) -> None:
            bar.set_description(message)
            bar.update(STAGES_PER_ALGORITHM if message.endswith("failed") else 1)

        try:
            versions = training.training_run(algorithms=algorithms, progress=progress)
        finally:
            bar.close()
        for version in versions:
            if version.status == ModelVersion.Status.READY:
                ndcg = version.metrics.get("validation", {}).get("ndcg")
                shown = f"{ndcg:.4f}" if ndcg is not None else "n/a"
                flag = " (serving)" if version.is_serving else ""
                self.stdout.write(
                    f"{version.algorithm}: version {version.pk}, NDCG@10 {shown}, "
                    f"{version.duration_seconds:.1f}s{flag}"
                )
            else:
                self.stderr.write(f"{version.algorithm}: failed: {version.error}")
