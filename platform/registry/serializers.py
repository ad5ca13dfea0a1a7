"""JSON shapes of model versions, activations and training runs, and the request bodies that create them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Team
from accounts.selectors import teams_for
from registry.comparison import outcome_counts, promotes
from registry.models import ModelActivation, ModelVersion, TrainingRun
from registry.selectors import model_versions_for


class VersionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "team"]


class ModelVersionSerializer(serializers.ModelSerializer):
    """A version with its lineage links and its state for the requesting team (context: active_models, team)."""

    shared = serializers.SerializerMethodField()
    parent = VersionRefSerializer(read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_active = serializers.SerializerMethodField()
    active_for_teams = serializers.SerializerMethodField()
    promoted_at = serializers.SerializerMethodField()
    promoted_by = serializers.SerializerMethodField()
    comparison = serializers.SerializerMethodField()
    metrics_min_n = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "team", "shared", "sha256", "size_bytes", "config", "metrics", "metrics_min_n", "parent",
            "training_run", "comparison", "is_active", "active_for_teams", "promoted_at", "promoted_by", "created_by",
            "created_at",
        ]  # fmt: skip

    def get_metrics_min_n(self, version: ModelVersion) -> int:
        """Metrics measured on fewer labels are weak (shown greyed; never auto-promote)."""
        return settings.METRICS_MIN_N

    def get_comparison(self, version: ModelVersion) -> dict[str, Any] | None:
        """For a fine-tuned version: its run's comparison with its base on the held-out labels."""
        run = version.training_run if version.training_run_id else None
        return (run.comparison or None) if run is not None else None

    def get_shared(self, version: ModelVersion) -> bool:
        return version.team_id is None

    def get_active_for_teams(self, version: ModelVersion) -> list[int]:
        """Your teams whose active model this is."""
        active = self.context.get("active_models", {})
        return sorted(team_id for team_id, version_id in active.items() if version_id == version.id)

    def get_is_active(self, version: ModelVersion) -> bool:
        """Active for `?team=` when given, else for any of your teams."""
        team = self.context.get("team")
        teams = self.get_active_for_teams(version)
        return team.id in teams if team is not None else bool(teams)

    def _last_activation(self, version: ModelVersion) -> ModelActivation | None:
        history = getattr(version, "team_activations", None)
        if history is None:
            return None
        team = self.context.get("team")
        return next((a for a in history if team is None or a.team_id == team.id), None)

    def get_promoted_at(self, version: ModelVersion) -> str | None:
        """When it was last activated (for `?team=`, else for any of your teams)."""
        activation = self._last_activation(version)
        return activation.created_at.isoformat() if activation else None

    def get_promoted_by(self, version: ModelVersion) -> str | None:
        activation = self._last_activation(version)
        return activation.activated_by.username if activation and activation.activated_by else None


class ModelVersionDetailSerializer(ModelVersionSerializer):
    lineage = serializers.SerializerMethodField()

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "lineage"]

    def get_lineage(self, version: ModelVersion) -> list[dict[str, Any]]:
        """The ancestors, parent first: [{id, name, team, training_run}]."""
        chain = self.context.get("lineage", [])
        return [{"id": v.id, "name": v.name, "team": v.team_id, "training_run": v.training_run_id} for v in chain]


class _TeamScoped(serializers.Serializer):
    """A body whose `team` (and version) fields only accept the caller's teams (and versions they can see)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")  # absent while the OpenAPI schema is generated
        if request is None:
            return
        user = request.user
        for name, field in self.fields.items():
            if name == "team":
                field.queryset = teams_for(user)
            elif isinstance(field, serializers.PrimaryKeyRelatedField):
                field.queryset = model_versions_for(user)


class ModelVersionCreateSerializer(_TeamScoped):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.none())
    name = serializers.CharField(max_length=120)
    checkpoint = serializers.FileField(help_text="an SMGeo checkpoint (.pt) written by torch.save")
    parent = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.none(), required=False, allow_null=True)


class ActivateSerializer(_TeamScoped):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.none(), required=False, help_text="default: the version's team or your only team"
    )


class RollbackSerializer(_TeamScoped):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.none())


class ActivationSerializer(serializers.ModelSerializer):
    model_version = VersionRefSerializer(read_only=True)
    activated_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ModelActivation
        fields = ["id", "team", "model_version", "activated_by", "reason", "created_at"]


class PairedCountsSerializer(serializers.Serializer):
    """The run's paired comparison in counts of its held-out labels (acc@0.5 hits, label by label)."""

    n = serializers.IntegerField(help_text="held-out labels both versions were measured on")
    better = serializers.IntegerField(help_text="labels the new version hits and the base missed")
    worse = serializers.IntegerField(help_text="labels the base hit and the new version misses")
    same = serializers.IntegerField(help_text="labels both hit or both missed")


class PromotionSerializer(serializers.Serializer):
    """Whether the version a run registered became its team's active model, or the team kept its model."""

    promoted = serializers.BooleanField(help_text="activated for the team (by auto-promotion or an admin)")
    reason = serializers.CharField(allow_null=True, help_text="how it was first activated: auto-promote, activate, …")
    activated_by = serializers.CharField(allow_null=True, help_text="who first activated it; null: the system")
    activated_at = serializers.DateTimeField(allow_null=True)
    meets_auto_promote_rule = serializers.BooleanField(
        help_text="its paired comparison shows a gain beyond noise on enough held-out labels (the auto-promote rule)"
    )


class TrainingRunSerializer(serializers.ModelSerializer):
    base_version = VersionRefSerializer(read_only=True, allow_null=True)
    result_version = serializers.SerializerMethodField()
    dataset = serializers.SerializerMethodField()
    base_label_count = serializers.SerializerMethodField()
    paired_counts = serializers.SerializerMethodField()
    promotion = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    metrics_min_n = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id", "team", "status", "progress", "message", "error", "cancel_requested", "params", "base_version",
            "dataset", "base_label_count", "epoch", "step", "total_steps", "loss", "eta_s", "base_metrics",
            "new_metrics", "comparison", "paired_counts", "forgetting", "metrics_min_n", "result_version", "promotion",
            "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_metrics_min_n(self, run: TrainingRun) -> int:
        return settings.METRICS_MIN_N

    def get_result_version(self, run: TrainingRun) -> dict[str, Any] | None:
        """The version this run registered ({id, name, team}), once it succeeded."""
        version = _result_version(run)
        return VersionRefSerializer(version).data if version else None

    def get_dataset(self, run: TrainingRun) -> dict[str, Any]:
        """The frozen snapshot: how many labels and their hash."""
        return {"label_count": run.label_count, "hash": run.dataset_hash}

    def get_base_label_count(self, run: TrainingRun) -> int:
        """How many of the team's reviewed labels the base version was fine-tuned on: the label count of the team's
        run that made it; 0 for a version no run of the team made (a base model, a registered checkpoint)."""
        origin = run.base_version.training_run
        return origin.label_count if origin is not None and origin.team_id == run.team_id else 0

    @extend_schema_field(PairedCountsSerializer(allow_null=True))
    def get_paired_counts(self, run: TrainingRun) -> dict[str, int] | None:
        """Better / worse / the same on the held-out labels, from the stored comparison; null without one."""
        return outcome_counts(run.comparison)

    @extend_schema_field(PromotionSerializer(allow_null=True))
    def get_promotion(self, run: TrainingRun) -> dict[str, Any] | None:
        """For a run that registered a version: whether the team made it active (its first activation); null else."""
        version = _result_version(run)
        if version is None:
            return None
        mine = [a for a in version.activations.all() if a.team_id == run.team_id]
        first = min(mine, key=lambda a: (a.created_at, a.id), default=None)
        return {
            "promoted": first is not None,
            "reason": first.reason if first else None,
            "activated_by": first.activated_by.username if first and first.activated_by else None,
            "activated_at": first.created_at.isoformat() if first else None,
            "meets_auto_promote_rule": promotes(run.comparison),
        }


def _result_version(run: TrainingRun) -> ModelVersion | None:
    """The version a run registered, once it succeeded."""
    return getattr(run, "result_version", None) if run.status == "succeeded" else None


class TrainingRunDetailSerializer(TrainingRunSerializer):
    class Meta(TrainingRunSerializer.Meta):
        fields = [*TrainingRunSerializer.Meta.fields, "history", "log"]

    def get_dataset(self, run: TrainingRun) -> dict[str, Any]:
        """The frozen snapshot: the label review ids, how many, and their hash."""
        return {**super().get_dataset(run), "label_review_ids": run.dataset_label_ids}


class TrainingRunCreateSerializer(_TeamScoped):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.none())
    base_version = serializers.PrimaryKeyRelatedField(
        queryset=ModelVersion.objects.none(), required=False, allow_null=True, help_text="default: the active version"
    )
    epochs = serializers.IntegerField(
        required=False, allow_null=True, help_text="1..200 passes over the train labels; default: the recipe's steps"
    )
    steps = serializers.IntegerField(
        required=False, allow_null=True, help_text="1..20000 optimizer steps; default: the fine-tune recipe's (300)"
    )
    batch_size = serializers.IntegerField(default=8, help_text="1..256")
    lr = serializers.FloatField(
        required=False, allow_null=True, help_text="peak learning rate for a batch of 8; default: the recipe's (1e-4)"
    )
    replay = serializers.FloatField(
        default=0.0,
        help_text="0..0.5: the share of each epoch's training pairs drawn from the base model's own data (needs "
        "FINE_TUNE_BASE_DATA on the worker), against forgetting",
    )
