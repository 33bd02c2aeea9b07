"""Interactions and reviews (the input), model versions and their precomputed output."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Interaction(models.Model):
    """One signal of interest of a customer in a product; weighted per kind when training."""

    class Kind(models.TextChoices):
        VIEW = "view", "Viewed"
        CART = "cart", "Added to cart"
        PURCHASE = "purchase", "Purchased"
        RATING = "rating", "Rated"

    # Empty once the customer erased the account: the product keeps its counts, training
    # leaves the row out.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A rating's stars (1-5); 1 for the other kinds.
    value = models.FloatField(default=1.0)
    at = models.DateTimeField(db_index=True)
    # Where a recorded event came from (e.g. "order:42"), so replaying it adds nothing twice.
    source = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "product"],
                condition=~Q(source=""),
                name="reco_interaction_source_unique",
            ),
        ]
        indexes = [
            # Training reads everything since a date; popularity reads recent rows per product.
            models.Index(fields=["at", "user", "product"], name="reco_inter_at_user_prod"),
            models.Index(fields=["product", "at"], name="reco_inter_product_at"),
            models.Index(fields=["user", "-at"], name="reco_inter_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.product_id}"


class Review(models.Model):
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    # Empty once the author erased the account: the review stays, signed by nobody.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=120, blank=True)
    text = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="reco_review_once_per_user"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="reco_review_rating_1_5"
            ),
        ]
        indexes = [models.Index(fields=["product", "-created_at"], name="reco_review_product")]

    def __str__(self) -> str:
        return f"{self.rating}/5 by {self.user_id} on {self.product_id}"


class ModelVersion(models.Model):
    """One training of one algorithm.

    At most one version per algorithm is active (its precomputed rows are served when that
    algorithm is asked for), and at most one version overall is *serving*: the default answer.
    Both flags move in one transaction when a training run finishes.
    """

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    algorithm = models.CharField(max_length=32, db_index=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField(auto_now_add=True, db_index=True)
    duration_seconds = models.FloatField(default=0.0)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_interactions = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    error = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    is_serving = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["algorithm"], condition=Q(is_active=True), name="reco_one_active_per_algo"
            ),
            models.UniqueConstraint(
                fields=["is_serving"], condition=Q(is_serving=True), name="reco_one_serving"
            ),
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(status="ready"), name="reco_active_is_ready"
            ),
            models.CheckConstraint(
                condition=Q(is_serving=False) | Q(is_active=True), name="reco_serving_is_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} #{self.pk} ({self.status})"


class UserRecommendation(models.Model):
    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="user_recommendations"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=20)

    class Meta:
        ordering = ["version", "user", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user", "rank"], name="reco_userrec_rank_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} for {self.user_id}: {self.product_id}"


class SimilarProduct(models.Model):
    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="similar_products"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    similar = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["version", "product", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "product", "rank"], name="reco_similar_rank_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} like {self.product_id}: {self.similar_id}"
