"""Recommendations API: validate, call a selector or service, serialise."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import ProductSerializer
from catalog.selectors import product_base_queryset
from recommendations import selectors, services
from recommendations.models import (
    ALGORITHMS,
    Interaction,
    ModelVersion,
    RecommendationStat,
    Review,
)
from shop.api.schema import error_response

MAX_LIMIT = 50
# Who wrote a review whose author erased the account.
ERASED_AUTHOR = "A former customer"


class LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)


class RecommendationQuerySerializer(LimitSerializer):
    algorithm = serializers.ChoiceField(choices=list(ALGORITHMS), required=False)


class ExplanationSerializer(serializers.Serializer):
    """Why the product is recommended, as a sentence for people and a kind for programs."""

    kind = serializers.ChoiceField(
        choices=["bought", "viewed", "together", "similar_users", "taste", "new", "popular"]
    )
    text = serializers.CharField()
    product = serializers.IntegerField(
        allow_null=True, help_text="The product the explanation names (yours, or the one shown)."
    )


class RecommendationSerializer(serializers.Serializer):
    product = ProductSerializer()
    score = serializers.FloatField()
    reason = serializers.ChoiceField(
        choices=["similar_users", "similar_items", "factorization", "popular"]
    )
    explanation = ExplanationSerializer()


class RecommendationListSerializer(serializers.Serializer):
    """The API's list envelope around recommendations: always one page, so no links."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RecommendationSerializer(many=True)


def _explanation(explanation: selectors.Explanation) -> dict:
    return {
        "kind": explanation.kind,
        "text": explanation.text,
        "product": explanation.product.pk if explanation.product is not None else None,
    }


# Version 1's ``reason`` names the model family; a product recommended for being new is the
# hybrid's item-based answer (its ``explanation`` says "new").
API_REASON = {"new": "similar_items"}


def _items(found: list[selectors.Recommended]) -> list[dict]:
    return [
        {
            "product": r.product,
            "score": r.score,
            "reason": API_REASON.get(r.reason, r.reason),
            "explanation": _explanation(r.explanation),
        }
        for r in found
    ]


class RecommendationListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[RecommendationQuerySerializer],  # limit 1..50 (default 10), algorithm
        responses=RecommendationListSerializer,
        operation_id="recommendation_list",
    )
    def get(self, request):
        """Products for the signed-in customer (popular ones for anonymous visitors)."""
        query = RecommendationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.recommendations_for_user(
            request.user, query.validated_data["limit"], query.validated_data.get("algorithm")
        )
        data = RecommendationSerializer(_items(found), many=True).data
        return Response({"count": len(data), "next": None, "previous": None, "results": data})


class SimilarProductsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[LimitSerializer],
        responses=RecommendationListSerializer,
        operation_id="product_similar_list",
    )
    def get(self, request, pk: int):
        """Products that the same customers bought or looked at."""
        query = LimitSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        product = selectors.product_get(pk)
        if product is None:
            raise NotFound("No such product.")
        found = selectors.similar_products(product, query.validated_data["limit"])
        together = _explanation(selectors.explain_together(product))
        data = RecommendationSerializer(
            [
                {"product": p, "score": s, "reason": "similar_items", "explanation": together}
                for p, s in found
            ],
            many=True,
        ).data
        return Response({"count": len(data), "next": None, "previous": None, "results": data})


class InteractionSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False
    )
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    value = serializers.FloatField(required=False, default=1.0, min_value=0)

    class Meta:
        model = Interaction
        fields = ["id", "user", "product", "kind", "value", "at"]
        read_only_fields = ["id", "at"]

    def validate(self, attrs):
        if attrs["kind"] == Interaction.Kind.RATING and not 1 <= attrs["value"] <= 5:
            raise serializers.ValidationError({"value": "A rating is between 1 and 5."})
        if not attrs["product"].is_active:
            raise serializers.ValidationError({"product": "This product is not for sale."})
        return attrs


class InteractionCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="interaction_create",
        request=InteractionSerializer,
        responses={
            201: InteractionSerializer,
            403: error_response(
                "not_purchased",
                "permission_denied",
                name="InteractionRefusedError",
                note="not_purchased: a rating of a product the customer has not bought (and "
                "kept); permission_denied: a purchase, someone else's interaction, or no CSRF "
                "token.",
            ),
        },
    )
    def post(self, request):
        """Record a view, a cart addition, or a rating of a product you bought (purchases are
        recorded by the shop)."""
        serializer = InteractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        interaction = services.interaction_record_for(
            actor=request.user,
            user=data.get("user") or request.user,
            product=data["product"],
            kind=data["kind"],
            value=data["value"],
        )
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)


class RecommendationEventSerializer(serializers.Serializer):
    slot = serializers.ChoiceField(choices=RecommendationStat.Slot.choices)
    tracking = serializers.RegexField(
        r"^\d{1,10}:[a-z_]{1,32}:[ab]?$",
        help_text="The `version:algorithm:arm` the page was given with the recommendation.",
    )
    kind = serializers.ChoiceField(choices=["impression", "click", "cart"])
    product = serializers.IntegerField(min_value=1)

    def validate_tracking(self, value):
        version, algorithm, arm = value.split(":")
        if algorithm not in ALGORITHMS:
            raise serializers.ValidationError(f"Unknown algorithm {algorithm!r}.")
        return {"model_version": int(version), "algorithm": algorithm, "arm": arm}


class RecommendationEventsSerializer(serializers.Serializer):
    events = RecommendationEventSerializer(many=True, allow_empty=False, max_length=200)


class RecommendationEventsRecordedSerializer(serializers.Serializer):
    recorded = serializers.IntegerField(help_text="Events counted.")


class RecommendationEventsView(APIView):
    """What a page did with its recommendations, reported in one batch per page."""

    permission_classes = [permissions.AllowAny]
    throttle_scope = "recommendation_events"

    @extend_schema(
        operation_id="recommendation_event_create",
        request=RecommendationEventsSerializer,
        responses={202: RecommendationEventsRecordedSerializer},
    )
    def post(self, request):
        """Count impressions, clicks and cart additions of recommended products (at most 200
        events per call); the staff dashboard shows the rates per slot, model and A/B arm."""
        serializer = RecommendationEventsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = [
            {"slot": e["slot"], "kind": e["kind"], **e["tracking"]}
            for e in serializer.validated_data["events"]
        ]
        services.recommendation_events_record(events=events)
        return Response({"recorded": len(events)}, status=status.HTTP_202_ACCEPTED)


class ReviewSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    rating = serializers.IntegerField(min_value=1, max_value=5)

    class Meta:
        model = Review
        fields = ["id", "product", "author", "rating", "title", "text", "created_at"]
        read_only_fields = ["id", "product", "author", "created_at"]

    def get_author(self, review) -> str:
        if review.user is None:
            return ERASED_AUTHOR
        return review.user.first_name or review.user.username


class ProductReviewsView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    serializer_class = ReviewSerializer
    queryset = Review.objects.none()  # only for the schema: reviews are read via the product

    def _product(self, pk: int):
        return get_object_or_404(product_base_queryset(), pk=pk)

    @extend_schema(responses=ReviewSerializer(many=True), operation_id="product_review_list")
    def get(self, request, pk: int):
        """A product's reviews, newest first (paginated)."""
        product = self._product(pk)
        page = self.paginate_queryset(selectors.product_reviews(product))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="product_review_create",
        responses={
            201: ReviewSerializer,
            403: error_response("not_purchased", "permission_denied", name="ReviewRefusedError"),
            409: error_response("already_reviewed"),
        },
    )
    def post(self, request, pk: int):
        """Review a product you bought (once)."""
        product = self._product(pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(
            user=request.user, product=product, **serializer.validated_data
        )
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "algorithm",
            "parameters",
            "metrics",
            "trained_at",
            "duration_seconds",
            "n_users",
            "n_items",
            "n_interactions",
            "status",
            "error",
            "is_active",
            "is_serving",
        ]


@extend_schema_view(get=extend_schema(operation_id="recommendation_model_list"))
class ModelVersionListView(generics.ListAPIView):
    """Trained model versions with their validation metrics (staff only)."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = ModelVersionSerializer

    def get_queryset(self):
        return selectors.model_versions()


__all__ = [
    "InteractionCreateView",
    "ModelVersionListView",
    "ProductReviewsView",
    "RecommendationListView",
    "SimilarProductsView",
]
