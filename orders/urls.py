from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("cart/remove/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order-cancel"),
    path("orders/<str:number>/invoice/", views.order_invoice, name="order-invoice"),
    path("orders/<str:number>/returns/", views.order_return_request, name="order-return"),
    path(
        "orders/<str:number>/returns/<int:return_id>/credit-note/",
        views.return_credit_note,
        name="return-credit-note",
    ),
]
