"""/api/v1/me/ and /api/v1/teams/ (with members): thin views over the accounts services and selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import Membership, Role, Team
from accounts.selectors import members_of, role_in, teams_for


class TeamSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "my_role", "active_model", "auto_promote", "created_at"]
        read_only_fields = ["active_model", "auto_promote", "created_at"]

    def get_my_role(self, team: Team) -> str | None:
        return role_in(self.context["request"].user, team.id)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]


class MembershipWriteSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    teams = TeamSerializer(many=True)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        data = {"id": user.id, "username": user.get_username(), "teams": teams_for(user)}
        return Response(MeSerializer(data, context={"request": request}).data)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Your teams. Creating a team makes you its admin. Members are managed by team admins."""

    serializer_class = TeamSerializer

    def get_queryset(self):
        return teams_for(self.request.user)

    def perform_create(self, serializer: TeamSerializer) -> None:
        serializer.instance = services.team_create(name=serializer.validated_data["name"], creator=self.request.user)

    @extend_schema(responses=MembershipSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # a team's members: one list, never paged
    def members(self, request: Request, pk: str) -> Response:
        team = self.get_object()
        return Response(MembershipSerializer(members_of(team), many=True).data)

    @extend_schema(request=MembershipWriteSerializer, responses=MembershipSerializer)
    @members.mapping.post
    def set_member(self, request: Request, pk: str) -> Response:
        """Add a member or change a member's role (team admins)."""
        team = self.get_object()
        body = MembershipWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_set(team=team, by=request.user, **body.validated_data)
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<membership_id>\d+)")
    def remove_member(self, request: Request, pk: str, membership_id: str) -> Response:
        team = self.get_object()
        services.membership_remove(team=team, membership_id=int(membership_id), by=request.user)
        return Response(status=204)
