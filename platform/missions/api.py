"""/api/v1/missions/: thin views over the mission services and selectors."""

from __future__ import annotations

from rest_framework import mixins, serializers, viewsets

from accounts.selectors import teams_for
from localization.models import TargetStatus
from missions import services
from missions.models import Mission
from missions.selectors import missions_with_counts


class MissionSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Mission._meta.get_field("team").related_model.objects.none())
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Mission
        fields = ["id", "team", "name", "description", "status", "created_by", "created_at", "counts"]
        read_only_fields = ["created_by", "created_at"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["team"].queryset = teams_for(request.user)

    def get_counts(self, mission: Mission) -> dict[str, int]:
        """Targets of the mission per status (and in all)."""
        if not hasattr(mission, "count_targets"):
            return {}
        counts = {status: getattr(mission, f"count_{status}") for status in TargetStatus.values}
        return {"total": mission.count_targets, **counts}


class MissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Missions of your teams, with target counts per status. Any team member can create and edit them."""

    serializer_class = MissionSerializer
    filterset_fields = ["team", "status"]
    ordering_fields = ["created_at", "name"]

    def get_queryset(self):
        return missions_with_counts(self.request.user).order_by("-created_at", "-id")

    def perform_create(self, serializer: MissionSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.mission_create(
            team=data["team"], name=data["name"], description=data.get("description", ""), by=self.request.user
        )

    def perform_update(self, serializer: MissionSerializer) -> None:
        fields = {k: v for k, v in serializer.validated_data.items() if k != "team"}
        serializer.instance = services.mission_update(mission=serializer.instance, by=self.request.user, **fields)
