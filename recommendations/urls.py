from django.urls import path

from recommendations import views

app_name = "recommendations"

urlpatterns = [
    path("products/<int:pk>/reviews/", views.review_post, name="review-post"),
]
