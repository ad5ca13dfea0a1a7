"""/api/v1/me/ and /api/v1/teams/ (with members and invitations): thin views over the accounts services and
selectors."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import invitations, services
from accounts.models import Invitation, Membership, Role, Team
from accounts.permissions import require_role, require_signed_in
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


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "username", "role", "created_by", "created_at", "expires_at"]


class NewInvitationSerializer(InvitationSerializer):
    link = serializers.CharField(help_text="the one-time link to send to the person; shown only now")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "link"]


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

    @extend_schema(
        request=MembershipWriteSerializer,
        responses={200: MembershipSerializer, 409: OpenApiResponse(description="already a member: their role")},
    )
    @members.mapping.post
    def add_member(self, request: Request, pk: str) -> Response:
        """Add an existing user with a role (team admins). Someone already in the team: 409 with their role."""
        team = self.get_object()
        body = MembershipWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_add(team=team, by=request.user, **body.validated_data)
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<membership_id>\d+)")
    def remove_member(self, request: Request, pk: str, membership_id: str) -> Response:
        team = self.get_object()
        services.membership_remove(team=team, membership_id=int(membership_id), by=request.user)
        return Response(status=204)

    @extend_schema(request=RoleChangeSerializer, responses=MembershipSerializer)
    @remove_member.mapping.patch
    def change_role(self, request: Request, pk: str, membership_id: str) -> Response:
        """Change a member's role (team admins); the team keeps at least one admin."""
        team = self.get_object()
        body = RoleChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_role_change(
            team=team, membership_id=int(membership_id), by=request.user, role=body.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(responses=InvitationSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def invitations(self, request: Request, pk: str) -> Response:
        """The team's invitations still waiting to be used (team admins)."""
        team = self.get_object()
        require_role(request.user, team.id, Role.ADMIN, "see invitations")
        return Response(InvitationSerializer(invitations.pending_invitations(team), many=True).data)

    @extend_schema(
        request=MembershipWriteSerializer,
        responses={
            201: NewInvitationSerializer,
            403: OpenApiResponse(description="not a team admin, or sent with an API token (invite signed in)"),
            409: OpenApiResponse(description="the username has an account or an invitation waiting"),
        },
    )
    @invitations.mapping.post
    def invite(self, request: Request, pk: str) -> Response:
        """Invite a new person: a one-time link (shown once) where they set their password and join with the role."""
        team = self.get_object()
        require_signed_in(request, "invite people")
        body = MembershipWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = invitations.invitation_create(team=team, by=request.user, **body.validated_data)
        data = dict(InvitationSerializer(made.invitation).data)
        data["link"] = request.build_absolute_uri(reverse("invitation-page", args=[made.key]))
        return Response(data, status=201)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"invitations/(?P<invitation_id>\d+)")
    def withdraw_invitation(self, request: Request, pk: str, invitation_id: str) -> Response:
        team = self.get_object()
        invitations.invitation_withdraw(team=team, invitation_id=int(invitation_id), by=request.user)
        return Response(status=204)
