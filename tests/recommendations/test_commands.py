"""Management commands: demo interactions and training from the command line."""

import pytest
from django.core.management import call_command

from recommendations.models import Interaction, ModelVersion

pytestmark = pytest.mark.django_db


def test_demo_interactions_are_repeatable_and_train_a_serving_model(products, capsys):
    call_command("load_demo_interactions", users=30, per_user=5, seed=3)
    first = Interaction.objects.count()
    call_command("load_demo_interactions", users=30, per_user=5, seed=3, train=True)

    assert first > 30
    assert Interaction.objects.count() == first
    assert set(Interaction.objects.values_list("kind", flat=True)) >= {"view", "cart"}
    assert ModelVersion.objects.filter(is_serving=True).exists()


def test_train_recommendations_reports_each_version(shoppers, capsys):
    call_command("train_recommendations", "--algorithms", "popular", "item_knn", "--no-progress")

    out = capsys.readouterr().out
    assert "popular: version" in out and "item_knn: version" in out
    assert ModelVersion.objects.filter(is_active=True).count() == 2
