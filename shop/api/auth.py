from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from shop import security
from shop.api.schema import error_response


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """Exchange a username and password for an API token."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_scope = "login"

    @extend_schema(
        operation_id="token_obtain",
        request=CredentialsSerializer,
        responses={
            200: TokenSerializer,
            429: error_response(
                "throttled",
                "locked_out",
                name="SignInThrottledError",
                note="throttled: too many sign-in attempts from this address.",
            ),
        },
    )
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # django-axes refuses a locked-out (username, address) pair and counts a failure here.
        user = authenticate(request, **data.validated_data)
        if user is None and security.is_locked_out(request):
            raise security.LoginLockedOut(request)
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with the given username and password."]}
            )
        security.login_succeeded(request, username=user.get_username())
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
