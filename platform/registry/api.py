"""/api/v1/model-versions/ (register, activate, roll back, history) and /api/v1/training-runs/: thin views."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.models import Team
from accounts.selectors import team_ids_for, teams_for
from core.errors import InvalidInput
from core.ids import parse_id
from core.parsers import JSONParser
from registry import services, training_runs
from registry.models import ModelActivation, ModelVersion, TrainingRun
from registry.selectors import (
    activations_for,
    active_models_of,
    model_version_lineage,
    model_versions_for,
    model_versions_usable_by,
    training_runs_for,
)
from registry.serializers import (
    ActivateSerializer,
    ActivationSerializer,
    ModelVersionCreateSerializer,
    ModelVersionDetailSerializer,
    ModelVersionSerializer,
    RollbackSerializer,
    TrainingRunCreateSerializer,
    TrainingRunDetailSerializer,
    TrainingRunSerializer,
)

TEAM_PARAM = OpenApiParameter("team", OpenApiTypes.INT, description="one of your teams")


def team_param(request: Request) -> Team | None:
    """The `?team=` query parameter as one of the caller's teams; 400 naming it when it is not."""
    raw = request.query_params.get("team")
    if raw in (None, ""):
        return None
    team_id = parse_id(raw)
    team = teams_for(request.user).filter(id=team_id).first() if team_id else None
    if team is None:
        raise InvalidInput(f"team: no team {raw!r} among yours", field="team")
    return team


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Model versions your teams can run: their own and the shared base models. `is_active` is for `?team=`
    (else: active in any of your teams). Team admins register, activate and roll back."""

    serializer_class = ModelVersionSerializer
    lookup_value_regex = r"\d+"
    ordering_fields = ["created_at", "name"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet[ModelVersion]:
        mine = ModelActivation.objects.filter(team_id__in=team_ids_for(self.request.user))
        history = Prefetch("activations", mine.select_related("activated_by"), to_attr="team_activations")
        versions = model_versions_for(self.request.user).prefetch_related(history)
        team = team_param(self.request) if self.action == "list" else None
        return versions.filter(id__in=model_versions_usable_by(team.id).values("id")) if team else versions

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["active_models"] = active_models_of(self.request.user)
            context["team"] = team_param(self.request)
        return context

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ModelVersionDetailSerializer if self.action == "retrieve" else ModelVersionSerializer

    @extend_schema(parameters=[TEAM_PARAM])
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        version = self.get_object()
        context = {**self.get_serializer_context(), "lineage": model_version_lineage(version)}
        return Response(ModelVersionDetailSerializer(version, context=context).data)

    @extend_schema(
        request={"multipart/form-data": ModelVersionCreateSerializer},
        responses={201: ModelVersionSerializer, 200: ModelVersionSerializer},
    )
    def create(self, request: Request) -> Response:
        """Register a checkpoint for a team (team admins). The same file again answers 200 with the version."""
        body = ModelVersionCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        version, created = services.model_version_register(by=request.user, **body.validated_data)
        version = self.get_queryset().get(id=version.id)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ModelVersionSerializer(version, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=ActivateSerializer, responses=ActivationSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        """Make this version the active model of `team` (default: the version's team, or your only team)."""
        version = self.get_object()
        body = ActivateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        team = body.validated_data.get("team") or _default_team(request, version)
        activation = services.model_version_activate(version=version, team=team, by=request.user)
        return Response(ActivationSerializer(activation).data)

    @extend_schema(
        request=RollbackSerializer,
        responses={200: ActivationSerializer, 409: OpenApiResponse(description="no earlier version to go back to")},
    )
    @action(detail=False, methods=["post"])
    def rollback(self, request: Request) -> Response:
        """Re-activate the version the team ran before the current one (team admins); 409 when there is none."""
        body = RollbackSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        activation = services.model_version_rollback(team=body.validated_data["team"], by=request.user)
        return Response(ActivationSerializer(activation).data)

    @extend_schema(parameters=[TEAM_PARAM], responses=ActivationSerializer(many=True))
    @action(detail=False, methods=["get"])
    def activations(self, request: Request) -> Response:
        """Who activated which version when, newest first (your teams, or `?team=`)."""
        history = activations_for(request.user).order_by("-created_at", "-id")
        team = team_param(request)
        history = history.filter(team=team) if team else history
        page = self.paginate_queryset(history)
        return self.get_paginated_response(ActivationSerializer(page, many=True).data)


def _default_team(request: Request, version: ModelVersion) -> Team:
    if version.team_id is not None:
        return version.team
    teams = list(teams_for(request.user)[:2])
    if len(teams) != 1:
        raise InvalidInput("team: name the team to activate this shared version for", field="team")
    return teams[0]


class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Fine-tuning runs of your teams (any member reads them; team admins start and cancel them)."""

    serializer_class = TrainingRunSerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ["status"]
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[TrainingRun]:
        runs = training_runs_for(self.request.user)
        team = team_param(self.request) if self.action == "list" else None
        return runs.filter(team=team) if team else runs

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return TrainingRunSerializer if self.action == "list" else TrainingRunDetailSerializer

    @extend_schema(parameters=[TEAM_PARAM])
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TrainingRunCreateSerializer,
        responses={
            201: TrainingRunDetailSerializer,
            409: OpenApiResponse(description="the team has a training run queued or running: its id"),
        },
    )
    def create(self, request: Request) -> Response:
        """Freeze the team's reviewed labels and queue fine-tuning (team admins); 409 while another run is active."""
        body = TrainingRunCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        run = training_runs.training_run_create(by=request.user, **body.validated_data)
        run = self.get_queryset().get(id=run.id)
        return Response(TrainingRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TrainingRunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Queued: cancelled at once; running: the worker stops within seconds; finished: 409 (team admins)."""
        run = training_runs.training_run_cancel(run=self.get_object(), by=request.user)
        return Response(TrainingRunDetailSerializer(self.get_queryset().get(id=run.id)).data)


def register(router: DefaultRouter) -> None:
    router.register("model-versions", ModelVersionViewSet, basename="model-version")
    router.register("training-runs", TrainingRunViewSet, basename="training-run")


extra_urlpatterns: list = []
