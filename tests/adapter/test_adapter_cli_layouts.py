"""`ffedit train-layout` and `ffedit bench layouts` end to end on a tiny model (z_dim 512, so
synthface latents fit) and a tiny exported synthface dataset."""

import dataclasses
import json

import pytest
import torch
from adapter_helpers import opaque_tiny_generator

from ffedit.cli import main
from ffedit.generator import TriplaneGenerator
from ffedit.io.adapters import load_adapter
from ffedit.io.checkpoint import save_generator
from ffedit.io.markdown import read_markdown_section
from ffedit.layouts import get_layout


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tiny = opaque_tiny_generator()
    torch.manual_seed(0)
    generator = TriplaneGenerator(dataclasses.replace(tiny.config, z_dim=512))
    state = {k: v for k, v in tiny.state_dict().items() if not k.startswith("backbone.mapping")}
    generator.load_state_dict(state, strict=False)
    return save_generator(generator, tmp_path_factory.mktemp("model") / "tiny512")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    export = ["synthface", "export", "--faces", "0:2", "--views", "front,left", "--threads", "1"]
    assert main([*export, "--layouts", "eyes19", "--resolution", "32", str(root / "d32")]) == 0
    assert main([*export, "--layouts", "eyes19", "--resolution", "16", str(root / "d16")]) == 0
    return root


def test_train_layout_writes_a_loadable_adapter_with_its_record(tmp_path, model, dataset, capsys):
    out = tmp_path / "eyes"
    command = ["train-layout", "--layout", "eyes19", "--samples", str(dataset / "d32")]
    assert main([*command, "--out", str(out), "--model", str(model), "--steps", "6"]) == 0
    saved = load_adapter(out)
    assert saved.layout == get_layout("eyes19") and saved.adapter.num_classes == 19
    assert saved.training.steps == 6 and saved.training.trainer == "fast"
    assert saved.metrics["samples"] == 4 and saved.metrics["steps"] == 6
    assert 0 <= saved.metrics["train_miou"] <= 1
    assert "wrote" in capsys.readouterr().out
    assert main([*command, "--out", str(tmp_path / "f"), "--model", str(model), "--steps", "2",
                 "--views", "front", "--max-samples", "1"]) == 0  # fmt: skip
    assert load_adapter(tmp_path / "f").metrics["samples"] == 1


def test_train_layout_errors_are_sentences(tmp_path, model, dataset, capsys):
    base = ["train-layout", "--samples", str(dataset / "d32"), "--out", str(tmp_path / "x")]
    assert main([*base, "--layout", "lips5", "--model", str(model)]) == 1
    assert main([*base, "--layout", "base17", "--model", str(model)]) == 1
    small = ["train-layout", "--samples", str(dataset / "d16"), "--out", str(tmp_path / "x")]
    assert main([*small, "--layout", "eyes19", "--model", str(model)]) == 1
    missing = tmp_path / "nothing"
    assert main([*base, "--layout", "eyes19", "--model", str(missing)]) == 1
    errors = capsys.readouterr().err
    assert "unknown layout 'lips5'" in errors
    assert "at least 1 annotated sample(s) (10 recommended); found 0" in errors
    assert "the mask is 16×16, the model's masks are 32×32" in errors
    assert f"{missing} does not exist" in errors
    assert "Traceback" not in errors and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_bench_layouts_writes_json_and_its_markdown_section(tmp_path, model):
    markdown = tmp_path / "benchmarks.md"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    args = ["bench", "layouts", "--faces", "0:2", "--train-faces", "100:3", "--model", str(model),
            "--layouts", "eyes19", "--shots", "1,2", "--variant-shots", "2", "--seeds", "2",
            "--variants", "full,no-injection,front-only", "--compare-trainers", "eyes19",
            "--compare-steps", "2", "--steps", "3", "--threads", "1",
            "--json", str(tmp_path / "r.json"),
            "--markdown", str(markdown)]  # fmt: skip
    assert main(args) == 0
    document = json.loads((tmp_path / "r.json").read_text())
    runs = document["runs"]
    # 2 seeds × (3 variants at N = 2 + full at N = 1) + both trainers once at 2 steps
    assert len(runs) == 10
    assert [(run["trainer"], run["steps"]) for run in runs if run["steps"]] == [
        ("fast", 2),
        ("full", 2),
    ]
    assert {run["variant"] for run in runs} == {"full", "no-injection", "front-only"}
    first = runs[0]
    assert set(first["view_miou"]) == {"front", "left", "right"}
    assert set(first["class_iou"]) == set(get_layout("eyes19").class_names)
    assert 0 <= first["miou"] <= 1 and first["seconds"] > 0
    assert 0 <= document["generator"]["base_miou"] <= 1
    body = read_markdown_section(markdown, "Few-shot layouts")
    assert "| eyes19 | no-injection |" in body
    full_row = next(row for row in body.splitlines() if "| full (whole images) |" in row)
    assert full_row.startswith("| eyes19 | full (whole images) | 2 |")
    assert "pupil" in full_row and "eyelid" in full_row  # per-class IoU of the new classes
    assert "| eyes19 | fast (cached rays) | 2 |" in body
    assert "--faces 0:2 --train-faces 100:3" in body
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_layouts_rejects_overlapping_faces(tmp_path, model, capsys):
    args = ["bench", "layouts", "--faces", "0:5", "--train-faces", "3:20", "--model", str(model),
            "--json", str(tmp_path / "r.json")]  # fmt: skip
    assert main(args) == 1
    assert "overlap" in capsys.readouterr().err


def test_bench_layouts_resumes_from_its_store_with_the_same_figures(tmp_path, model):
    store = tmp_path / "store"
    args = ["bench", "layouts", "--faces", "0:2", "--train-faces", "100:2", "--model", str(model),
            "--layouts", "eyes19", "--shots", "1", "--variant-shots", "2", "--seeds", "1",
            "--variants", "full,no-lmta", "--compare-trainers", "", "--steps", "3",
            "--threads", "1", "--store", str(store)]  # fmt: skip
    assert main([*args, "--json", str(tmp_path / "first.json")]) == 0
    kept = sorted(path.name for path in store.iterdir())
    assert kept == ["eyes19-full-n1-seed0-fast", "eyes19-full-n2-seed0-fast",
                    "eyes19-no-lmta-n2-seed0-fast"]  # fmt: skip
    stamps = {
        path.name: (path / "weights.safetensors").stat().st_mtime_ns for path in store.iterdir()
    }
    assert main([*args, "--json", str(tmp_path / "again.json")]) == 0
    again = {
        path.name: (path / "weights.safetensors").stat().st_mtime_ns for path in store.iterdir()
    }
    assert again == stamps  # nothing retrained
    first = json.loads((tmp_path / "first.json").read_text())["runs"]
    second = json.loads((tmp_path / "again.json").read_text())["runs"]
    for before, after in zip(first, second, strict=True):
        assert before["miou"] == after["miou"] and before["seconds"] == after["seconds"]
