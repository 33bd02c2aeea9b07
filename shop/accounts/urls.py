from django.urls import path

from shop.accounts import views
from shop.security import LockoutAuthenticationForm, throttle_login_posts

urlpatterns = [
    path(
        "login/",
        throttle_login_posts(
            views.LoginView.as_view(authentication_form=LockoutAuthenticationForm)
        ),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("register/", views.register, name="register"),
]
