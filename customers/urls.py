from django.urls import path

from customers import account_views, views
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
    path("verify/", views.email_verification, name="email-verification"),
    path("verify/<str:key>/", views.email_verify, name="email-verify"),
    path("", views.account, name="account"),
    path("export/", account_views.account_export, name="account-export"),
    # The password is checked here too: the login rate keeps anyone from guessing it.
    path("delete/", throttle_login_posts(account_views.account_delete), name="account-delete"),
    path("wishlist/", account_views.wishlist_page, name="wishlist"),
    path("wishlist/<int:product_id>/save/", account_views.wishlist_save, name="wishlist-save"),
    path(
        "wishlist/<int:product_id>/remove/", account_views.wishlist_remove, name="wishlist-remove"
    ),
    path(
        "stock-alerts/<int:product_id>/",
        account_views.stock_alert_create,
        name="stock-alert-create",
    ),
    path("addresses/", views.address_list, name="address-list"),
    path("addresses/new/", views.address_create, name="address-create"),
    path("addresses/<int:pk>/edit/", views.address_edit, name="address-edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address-delete"),
    path("addresses/<int:pk>/default/", views.address_make_default, name="address-default"),
    path("password-change/", views.PasswordChangeView.as_view(), name="password_change"),
    # Each reset request sends a mail: the login rate keeps anyone from mail-bombing with it.
    path(
        "password-reset/",
        throttle_login_posts(views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
