import pytest

from smgeo.config import config_from_dict, config_to_dict, load_config, preset


def test_presets_give_paper_scale_and_cpu_scale_models() -> None:
    paper, tiny = preset("swin_t").model, preset("tiny").model
    assert (paper.reference_size, paper.query_size, paper.backbone.embed_dim) == (1024, (256, 256), 96)
    assert paper.backbone.depths == (2, 2, 6, 2) and (paper.moe.num_experts, paper.moe.top_k) == (6, 2)
    assert tiny.reference_size < paper.reference_size and tiny.backbone.embed_dim < 96


def test_yaml_file_names_its_preset_and_overrides_fields(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("preset: tiny\nmodel:\n  moe:\n    top_k: 1\ntrain:\n  lr: 2e-3\n")
    config = load_config(str(path), ["model.encoder.num_layers=3", "model.query_size=[96, 96]"])
    assert config.model.moe.top_k == 1 and config.train.lr == 0.002
    assert config.model.encoder.num_layers == 3 and config.model.query_size == (96, 96)
    assert config.model.reference_size == preset("tiny").model.reference_size


def test_unknown_keys_and_wrong_types_are_named() -> None:
    with pytest.raises(ValueError, match="model.moe.topk"):
        load_config("tiny", ["model.moe.topk=1"])
    with pytest.raises(ValueError, match="train.lr: expected a number"):
        load_config("tiny", ["train.lr=fast"])
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_config_round_trips_through_a_plain_dict() -> None:
    config = load_config("tiny", ["model.moe.router=shared"])
    assert config_from_dict(config_to_dict(config)) == config
