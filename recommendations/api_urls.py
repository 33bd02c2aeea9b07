from django.urls import path

from recommendations import api

urlpatterns = [
    path("recommendations/", api.RecommendationListView.as_view(), name="recommendations"),
    path(
        "recommendations/models/",
        api.ModelVersionListView.as_view(),
        name="recommendation-models",
    ),
    path(
        "products/<int:pk>/similar/",
        api.SimilarProductsView.as_view(),
        name="product-similar",
    ),
    path(
        "products/<int:pk>/reviews/",
        api.ProductReviewsView.as_view(),
        name="product-reviews",
    ),
    path(
        "recommendations/events/",
        api.RecommendationEventsView.as_view(),
        name="recommendation-events",
    ),
    path("interactions/", api.InteractionCreateView.as_view(), name="interactions"),
]
