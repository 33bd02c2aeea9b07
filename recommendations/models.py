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


# The algorithms the engine knows (``recommendations.engine.ALGORITHMS``, checked equal by a
# test), named here so that web processes can validate a name without importing the engine.
ALGORITHMS = ("popular", "user_knn", "item_knn", "nmf", "ease", "recent_ease", "hybrid")


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
    # The customer's own product that weighed most in this recommendation ("because you
    # bought X"), for item-based models; empty for the others.
    anchor = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

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


class RecommendationStat(models.Model):
    """What customers did with one slot's recommendations on one day: how many were seen,
    clicked and put in the cart, per model version and arm of the A/B split.

    Rows are added to in batches (one statement per page's events), never one write per item
    shown. ``model_version`` is the ``ModelVersion`` id that served the items (0: the popular
    fallback) and ``algorithm`` its algorithm, kept as values so pruning old versions leaves
    the figures."""

    class Slot(models.TextChoices):
        HOME = "home", "Home: recommended for you"
        PRODUCT = "product", "Product page: customers also bought"

    day = models.DateField()
    slot = models.CharField(max_length=16, choices=Slot.choices)
    model_version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=32)
    arm = models.CharField(max_length=1, blank=True)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    carts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "slot", "model_version", "arm"], name="reco_stat_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.slot} v{self.model_version}{self.arm}"
