"""Training runs as the fine-tune worker leaves them, stored straight through the ORM for the console's page tests:
a row with any fields, and a finished run with its metrics, its paired comparison and the version it registered."""

from __future__ import annotations

from django.utils import timezone

from core.models import JobStatus
from registry.comparison import paired_comparison, set_info
from registry.models import ModelVersion, TrainingRun
from tests.platform.builders import make_model_version

METRICS = {"acc@0.25": 0.6, "acc@0.5": 0.4, "mIoU": 0.35, "center_px": 21.5}


def make_training_run_row(setup, **fields: object) -> TrainingRun:  # noqa: ANN001
    """A run of `setup.team` by its admin on three frozen labels; `fields` say the rest (`base_version` at least)."""
    values = {
        "team": setup.team, "params": {"epochs": 4, "batch_size": 8, "lr": None}, "dataset_label_ids": [11, 12, 13],
        "dataset_hash": "ab" * 32, "created_by": setup.admin, **fields,
    }  # fmt: skip
    return TrainingRun.objects.create(**values)


def finished_run(
    setup, base: ModelVersion, name: str, label_ids: list[int], held_out_ids: range, hits: tuple[set, set]
) -> tuple[TrainingRun, ModelVersion, dict]:  # noqa: ANN001
    """A succeeded run from `base` on `label_ids`, measured on its own held-out labels (`held_out_ids`; the base hits
    hits[0], the new version hits[1]), the version `name` it registered, and the set it was measured on."""
    held_out = set_info("held-out", "held-out labels (never trained on)", held_out_ids)
    ious = [{i: 0.9 if i in hit else 0.1 for i in held_out_ids} for hit in hits]
    base_metrics, new_metrics = ({**METRICS, "acc@0.5": len(hit) / len(held_out_ids), "n": len(held_out_ids),
                                  "set": held_out} for hit in hits)  # fmt: skip
    run = make_training_run_row(
        setup, base_version=base, dataset_label_ids=label_ids, status=JobStatus.SUCCEEDED, progress=1.0,
        finished_at=timezone.now(), base_metrics=base_metrics, new_metrics=new_metrics,
        comparison=paired_comparison(*ious, held_out, min_n=20),
    )  # fmt: skip
    version = make_model_version(setup.team, name, parent=base)
    version.training_run = run
    version.save(update_fields=["training_run"])
    return run, version, held_out
