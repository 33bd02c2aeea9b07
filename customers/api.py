"""Registering over the API, and the customer's own address book: list, add, change, delete,
make default."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import selectors, services
from customers.models import ADDRESS_FIELDS
from orders.api import AddressSerializer
from shop.api.ids import id_or_404
from shop.api.schema import error_response


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RegisterView(APIView):
    """Create a customer account; a link to verify its e-mail address is mailed to it."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="account_register",
        request=RegisterSerializer,
        responses={
            201: inline_serializer(
                "RegisteredUser",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "email": serializers.EmailField(),
                },
            )
        },
    )
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(
            {"id": user.id, "username": user.username, "email": user.email},
            status=status.HTTP_201_CREATED,
        )


class AddressBookSerializer(AddressSerializer):
    """The checkout's address, with its id and whether it is the default. Sending
    ``is_default: true`` makes it the default; a default is given up only by choosing another."""

    id = serializers.IntegerField(read_only=True)
    is_default = serializers.BooleanField(required=False, default=False)

    def validate_is_default(self, value):
        address = self.instance
        if address is not None and address.is_default and not value:
            raise serializers.ValidationError(
                "Make another address the default instead; there is always one."
            )
        return value


def _service_call(function, **kwargs):
    try:
        return function(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise ValidationError(detail) from exc


@extend_schema_view(
    list=extend_schema(summary="The signed-in customer's addresses, the default first"),
    create=extend_schema(
        summary="Add an address (the first one becomes the default)",
        responses={
            201: AddressBookSerializer,
            400: error_response("validation_error"),
            409: error_response("address_book_full"),
        },
    ),
    partial_update=extend_schema(
        summary="Change an address, or make it the default",
        responses={200: AddressBookSerializer, 400: error_response("validation_error")},
    ),
    destroy=extend_schema(
        summary="Delete an address (the oldest remaining one becomes the default)",
    ),
)
class AddressViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AddressBookSerializer
    pagination_class = None  # a book of at most services.MAX_ADDRESSES
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.address_list(user=self.request.user)

    def get_object(self):
        # Another customer's address is simply not there: 404, never 403.
        return get_object_or_404(self.get_queryset(), pk=id_or_404(self.kwargs["pk"]))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        make_default = data.pop("is_default", False)
        serializer.instance = _service_call(
            services.address_create,
            owner=self.request.user,
            make_default=make_default,
            **data,
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        make_default = data.pop("is_default", False)
        address = serializer.instance
        values = {key: value for key, value in data.items() if key in ADDRESS_FIELDS}
        if values:
            address = _service_call(services.address_update, address=address, **values)
        if make_default:
            address = services.address_set_default(address=address)
        serializer.instance = address

    def perform_destroy(self, instance):
        services.address_delete(address=instance)
