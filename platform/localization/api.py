"""/api/v1/targets/, /predictions/ and /reviews/: thin views over the localization services and selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput, NotFound
from core.filters import IdFilter, IdFilterSet
from core.ids import parse_id
from core.stored_files import stored_file_response
from localization import batch_services, delete_services, review_services, selectors, services, target_list
from localization.models import Prediction, Review, Target, TargetStatus
from localization.review_queue import QUEUE_STATUSES, review_queue_parse
from localization.serializers import (
    PredictionBatchCreateSerializer,
    PredictionBatchSerializer,
    PredictionSerializer,
    ReviewConflictSerializer,
    ReviewCreateSerializer,
    ReviewSerializer,
    TargetCreateSerializer,
    TargetDetailSerializer,
    TargetSerializer,
)
from missions.selectors import missions_for

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="a repeat with a key you already used returns the first target (200) instead of a second one",
)  # fmt: skip


class StatusInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """status=predicted or status=approved,corrected"""


class TargetFilter(IdFilterSet):
    status = StatusInFilter(choices=TargetStatus.choices)

    class Meta:
        model = Target
        fields = ["mission", "basemap", "drone_image", "status"]


class PredictionFilter(IdFilterSet):
    mission = IdFilter(field_name="target__mission")

    class Meta:
        model = Prediction
        fields = ["target", "model_version", "mission", "batch"]


class ReviewFilter(IdFilterSet):
    mission = IdFilter(field_name="target__mission")

    class Meta:
        model = Review
        fields = ["target", "mission", "reviewer", "decision"]


MAX_WAIT_S = 30.0


def _target_id(pk: str) -> int:
    target_id = parse_id(pk)
    if target_id is None:
        raise NotFound("not found")
    return target_id


def _wait_seconds(value: str | None) -> float:
    """`?wait=` as seconds in [0, MAX_WAIT_S]; InvalidInput for anything else."""
    if value in (None, ""):
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidInput(f"wait must be a number of seconds, not {value!r}", field="wait") from None
    if not 0 <= seconds <= MAX_WAIT_S:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT_S:g} seconds", field="wait")
    return seconds


class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clicks in drone images to localize on a basemap, newest first, each with its current prediction and latest
    review. Team members create and retry them; the localization runs in the background."""

    filterset_class = TargetFilter
    ordering_fields = ["created_at", "updated_at"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.action == "list":
            return selectors.targets_for(self.request.user)
        return selectors.targets_with_history(self.request.user)

    def get_serializer_class(self):
        return TargetSerializer if self.action == "list" else TargetDetailSerializer

    def detail_of(self, target: Target, status: int = 200) -> Response:
        target = selectors.targets_with_history(self.request.user).get(pk=target.pk)
        return Response(TargetDetailSerializer(target, context=self.get_serializer_context()).data, status=status)

    @extend_schema(
        parameters=[
            OpenApiParameter("changed_from", str, description="long poll: the status you know (with `wait`)"),
            OpenApiParameter("wait", float, description=f"long poll: answer as soon as the status differs from "
                             f"`changed_from`, or after this many seconds (at most {MAX_WAIT_S:g})"),
        ],
        responses={200: TargetDetailSerializer, 429: OpenApiResponse(description="too many long polls of this user "
                   "wait at once (LONG_POLLS_PER_USER); retry after the seconds in Retry-After")},
    )  # fmt: skip
    def retrieve(self, request: Request, pk: str) -> Response:
        """A target with its prediction and review history. With `?changed_from=queued&wait=20` the answer comes as soon
        as the target leaves that status (a long poll: the page sees the box the moment the worker saves it). At most
        LONG_POLLS_PER_USER polls of one user wait at once per web process: 429 past that."""
        _wait_seconds(request.query_params.get("wait"))  # validated here; localization/long_poll.py waits
        target = self.get_object()
        return Response(TargetDetailSerializer(target, context=self.get_serializer_context()).data)

    @extend_schema(
        request=TargetCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TargetDetailSerializer, 200: OpenApiResponse(TargetDetailSerializer, "an idempotent repeat")},
    )
    def create(self, request: Request) -> Response:
        """Click a target (operators and up): stored as queued, localized in the background."""
        body = TargetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target, created = services.target_create(
            by=request.user, drone_image_id=data["drone_image"], basemap_id=data["basemap"],
            click_x=data["click_x"], click_y=data["click_y"], label=data["label"],
            search_window=data.get("search_window"), model_version_id=data.get("model_version"),
            search_window_lonlat=data.get("search_window_lonlat"),
            idempotency_key=_idempotency_key(request, data.get("idempotency_key")),
        )  # fmt: skip
        return self.detail_of(target, status=201 if created else 200)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="deleted"),
            403: OpenApiResponse(description="only the target's creator can delete it"),
            409: OpenApiResponse(description="the target was reviewed: a label stays"),
        }
    )
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a mis-click: its creator only, and only before anyone reviewed it (then 409 naming the review)."""
        delete_services.target_delete(target_id=_target_id(pk), by=request.user)
        return Response(status=204)

    @extend_schema(request=None, responses=TargetDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """A failed target back on the queue (operators and up); 409 with its status when it has not failed."""
        target = services.target_retry(target_id=self.get_object().pk, by=request.user)
        return self.detail_of(target)

    @extend_schema(
        parameters=[
            OpenApiParameter("mission", int, required=True),
            OpenApiParameter("after", int, description="the target after this one (wraps round): skip, or go on "
                             "after a decision"),
            OpenApiParameter("before", int, description="the target before this one (wraps round to the last)"),
            OpenApiParameter("order", str, enum=list(selectors.REVIEW_ORDERS), description="oldest first (default); "
                             "least_confident: the smallest confidence margin first; lowest_score: the lowest score "
                             "first; photo: grouped by drone photo"),
            OpenApiParameter("status", str, enum=[str(s) for s in QUEUE_STATUSES], description="predicted (default): "
                             "waiting for review; or decided targets, to look through (and reopen) them"),
            OpenApiParameter("drone_image", int, description="only the targets clicked in this drone photo"),
            OpenApiParameter("score_min", float, description="only predictions scoring at least this (0 to 1)"),
            OpenApiParameter("score_max", float, description="only predictions scoring at most this (0 to 1)"),
        ],
        responses={
            200: OpenApiResponse(TargetDetailSerializer, "the target, plus `queue`: {count: the targets the queue "
                                 "holds now, total: those of the same photo and score range answered by the model}"),
            204: OpenApiResponse(description="nothing left to review"),
            404: OpenApiResponse(description="no such mission among your teams"),
        },
    )  # fmt: skip
    @action(detail=False, methods=["get"], url_path="next-review", filterset_class=None)
    def next_review(self, request: Request) -> Response:
        """The reviewer queue: the next predicted target of the mission you did not create (reviewers, admins), the
        oldest first or in another `order`, optionally only one photo's, a score range's, or decided ones
        (`status`); `after` / `before` step through it. The answer says how many the queue holds (`queue`)."""
        mission_id = parse_id(request.query_params.get("mission", ""))
        if mission_id is None:
            raise InvalidInput("give the mission to review: ?mission=<id>", field="mission")
        mission = missions_for(request.user).filter(pk=mission_id).first()
        if mission is None:
            raise NotFound("not found")
        require_role(request.user, mission.team_id, Role.REVIEWER, "use the review queue")
        after, before = (_optional_id(request.query_params, name) for name in ("after", "before"))
        if after is not None and before is not None:
            raise InvalidInput("give after or before, not both", field="before")
        queue = review_queue_parse(mission_id=mission.id, params=request.query_params)
        target = selectors.target_next_for_review(
            user=request.user, mission_id=mission.id, after_id=after, before_id=before, order=queue.order, queue=queue
        )
        if target is None:
            return Response(status=204)
        data = TargetDetailSerializer(target, context=self.get_serializer_context()).data
        return Response({**data, "queue": selectors.review_queue_counts(user=request.user, queue=queue)})

    # Defined last: the class body above still calls the builtin `list`. The schema stays TargetSerializer's, paged.
    def list(self, request: Request) -> Response:
        """The targets, newest first, 50 a page; each with its prediction (without candidates: the detail has them)
        and latest review."""
        page = self.paginate_queryset(target_list.PagedRows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(target_list.list_items(page))


def _optional_id(params: Any, name: str) -> int | None:
    """`?<name>=<id>`, absent or empty: None; anything but an id: 400 naming it."""
    raw = params.get(name, "")
    if raw and parse_id(raw) is None:
        raise InvalidInput(f"{name} must be a target id", field=name)
    return parse_id(raw) if raw else None


class PredictionViewSet(viewsets.ReadOnlyModelViewSet):
    """The model's answers (read-only): box and candidates in basemap pixels and lon/lat, heatmap, model version."""

    serializer_class = PredictionSerializer
    filterset_class = PredictionFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.predictions_for(self.request.user)

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="none")})
    @action(detail=True, methods=["get"])
    def heatmap(self, request: Request, pk: str) -> FileResponse:
        """The heatmap PNG over `heatmap_window` (basemap pixels) / `heatmap_bounds` (lon/lat), for team members."""
        prediction = self.get_object()  # a prediction's heatmap never changes: cached a day
        return stored_file_response(prediction.heatmap, "heatmap of this prediction", content_type="image/png")


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Append-only review history (no edit, no delete). Reviewers and admins decide; a reopen undoes a decision."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.reviews_for(self.request.user)

    @extend_schema(request=ReviewCreateSerializer, responses={201: ReviewSerializer, 409: ReviewConflictSerializer})
    def create(self, request: Request) -> Response:
        """Approve, correct (final_box or candidate), reject or reopen a target. 409 when another reviewer decided
        first: it names who and what, and echoes your request back so it can be re-applied."""
        body = ReviewCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            review = review_services.review_create(
                by=request.user, target_id=data["target"], decision=data["decision"],
                final_box=data.get("final_box"), candidate=data.get("candidate"), comment=data["comment"],
                expected_status=data.get("expected_status"), final_box_lonlat=data.get("final_box_lonlat"),
            )  # fmt: skip
        except Conflict as conflict:
            conflict.extra["your_request"] = _plain(request.data)
            raise
        return Response(ReviewSerializer(review).data, status=201)


class PredictionBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Re-predict a mission's targets (or some) with a chosen model version, to compare versions on the same clicks.
    The targets keep their status and current prediction; the batch's predictions are listed with ?batch=<id>."""

    serializer_class = PredictionBatchSerializer
    filterset_fields = ["mission", "status"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.prediction_batches_for(self.request.user)

    @extend_schema(request=PredictionBatchCreateSerializer, responses={201: PredictionBatchSerializer})
    def create(self, request: Request) -> Response:
        """Queue a re-prediction (reviewers and admins); progress and status on the returned batch."""
        body = PredictionBatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        mission = missions_for(request.user).filter(id=data["mission"]).first()
        if mission is None:
            raise InvalidInput(f"mission: no mission {data['mission']} among your teams'", field="mission")
        batch = batch_services.prediction_batch_create(
            mission=mission, model_version_id=data["model_version"], target_ids=data["target_ids"], by=request.user
        )
        return Response(PredictionBatchSerializer(batch).data, status=201)

    @extend_schema(request=None, responses=PredictionBatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Queued: cancelled at once; running: the worker stops after the target it is on; finished: 409."""
        batch = batch_services.prediction_batch_cancel(batch=self.get_object(), by=request.user)
        return Response(PredictionBatchSerializer(batch).data)


def _idempotency_key(request: Request, in_body: str | None) -> str | None:
    """The Idempotency-Key header, or the idempotency_key field; both given must agree."""
    in_header = request.headers.get("Idempotency-Key")
    if in_header and in_body and in_header != in_body:
        raise InvalidInput("the Idempotency-Key header and the idempotency_key field differ", field="idempotency_key")
    return in_header or in_body


def _plain(data: Any) -> Any:
    return data.dict() if hasattr(data, "dict") else data


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets."""
    router.register("targets", TargetViewSet, basename="target")
    router.register("predictions", PredictionViewSet, basename="prediction")
    router.register("reviews", ReviewViewSet, basename="review")
    router.register("prediction-batches", PredictionBatchViewSet, basename="prediction-batch")


extra_urlpatterns: list = []
