"""/api/v1/me/tokens/: the signed-in user's own API tokens for scripts: list, create (the key is shown once),
revoke. Thin views over accounts/api_tokens.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_tokens import api_token_create, api_token_revoke, tokens_of
from accounts.models import ApiToken
from accounts.permissions import require_signed_in


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(help_text="send as `Authorization: Token <key>`; shown only now, never again")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class ApiTokenNameSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=80, allow_blank=True, help_text="what the token is for, e.g. the script that uses it"
    )  # a blank name gets the service's answer, which says what a name is for


class ApiTokenListView(APIView):
    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Your API tokens (never their keys)."""
        return Response(ApiTokenSerializer(tokens_of(request.user), many=True).data)

    @extend_schema(
        request=ApiTokenNameSerializer,
        responses={
            201: NewApiTokenSerializer,
            403: OpenApiResponse(description="sent with an API token: tokens are made signed in"),
            409: OpenApiResponse(description="a token of yours has that name"),
        },
    )
    def post(self, request: Request) -> Response:
        """Make a named token; its key is in this answer only. Signed in only: a token cannot make tokens."""
        require_signed_in(request, "make API tokens")
        body = ApiTokenNameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = api_token_create(user=request.user, name=body.validated_data["name"])
        return Response({**ApiTokenSerializer(made.token).data, "key": made.key}, status=201)


class ApiTokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        """Revoke one of your tokens: scripts sending it get 401 from then on."""
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=204)
