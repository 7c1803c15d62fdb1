"""Import of NeRFFaceEditing/EG3D snapshots and FFaceNeRF checkpoints in the official layout."""

import io
import zipfile

import pytest
import torch
from eg3d_standins import (
    EasyDict,
    official_generator,
    random_tiny_generator,
    snapshot_bytes,
    torch_save_bytes,
)

from ffedit.cli import main as cli_main
from ffedit.config import PRESETS
from ffedit.generator import TriplaneGenerator
from ffedit.io.checkpoint import load_generator
from ffedit.io.eg3d import read_ffacenerf_adapter, read_foreign_generator
from ffedit.io.errors import ArchitectureMismatch, CheckpointError, UnsupportedCheckpoint

FFACENERF_TOP = ("training.triplane_mod", "TriPlaneGenerator_eyes")


@pytest.fixture(scope="module")
def tiny():
    return random_tiny_generator()


def _snapshot_file(tmp_path, g_ema, name="network-snapshot.pkl", **extra):
    path = tmp_path / name
    path.write_bytes(snapshot_bytes({"training_set_kwargs": EasyDict(), **extra, "G_ema": g_ema}))
    return path


def _adapter_tensors(in_features: int, num_classes: int) -> dict[str, torch.Tensor]:
    rng = torch.Generator().manual_seed(1)
    return {
        "decoder.geo_net_appdx.0.weight": torch.randn(16, in_features, generator=rng),
        "decoder.geo_net_appdx.0.bias": torch.randn(16, generator=rng),
        "decoder.geo_net_appdx.2.weight": torch.randn(num_classes, 16, generator=rng),
        "decoder.geo_net_appdx.2.bias": torch.randn(num_classes, generator=rng),
    }


def test_pickle_round_trip_is_bitwise_and_never_runs_module_src(tmp_path, tiny):
    marker = tmp_path / "module_src_ran"
    path = _snapshot_file(
        tmp_path, official_generator(tiny, marker), G=official_generator(tiny, marker)
    )
    imported = read_foreign_generator(path)
    assert not marker.exists()
    assert imported.config == PRESETS["tiny"]
    assert imported.preset == "tiny"
    assert imported.class_name == "TriPlaneGenerator"
    expected = tiny.state_dict()
    assert list(imported.state_dict) == list(expected)
    for name, tensor in expected.items():
        assert imported.state_dict[name].dtype == tensor.dtype, name
        assert torch.equal(imported.state_dict[name], tensor), name

    generator = load_generator(path)
    assert isinstance(generator, TriplaneGenerator)
    assert not generator.training
    assert not any(p.requires_grad for p in generator.parameters())
    for name, tensor in generator.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_nerffaceediting_sized_pickle_recovers_the_official_config(tmp_path):
    """Shapes of the full model through zero-stride tensors: a tiny file, the real config."""
    with torch.device("meta"):
        reference = TriplaneGenerator(PRESETS["nerffaceediting-ffhq512"])
    tensors = {name: torch.zeros(()).expand(t.shape) for name, t in reference.state_dict().items()}
    path = _snapshot_file(tmp_path, official_generator(reference, tmp_path / "m", tensors=tensors))
    assert path.stat().st_size < 2_000_000
    imported = read_foreign_generator(path)
    config = imported.config
    assert imported.preset == "nerffaceediting-ffhq512"
    assert config == PRESETS["nerffaceediting-ffhq512"]
    assert (config.z_dim, config.w_dim, config.c_dim, config.mapping_layers) == (512, 512, 25, 2)
    assert (config.plane_resolution, config.plane_channels, config.seg_classes) == (256, 32, 15)
    assert config.neural_rendering_resolution == 128
    assert (config.render.depth_resolution, config.render.depth_resolution_importance) == (48, 48)
    assert (config.render.ray_start, config.render.ray_end) == (2.25, 3.3)
    assert config.superresolution.block_channels == (256, 128)
    assert config.superresolution.conv_clamp == 256.0
    assert config.image_resolution == 512


def test_missing_g_ema_lists_the_keys_found(tmp_path, tiny):
    path = tmp_path / "x.pkl"
    path.write_bytes(snapshot_bytes({"G": official_generator(tiny, tmp_path / "m"), "D": None}))
    with pytest.raises(CheckpointError, match=r"no 'G_ema' entry \(keys found: D, G\)"):
        load_generator(path)


def test_truncated_pickle_and_other_files_are_reported(tmp_path, tiny):
    data = snapshot_bytes({"G_ema": official_generator(tiny, tmp_path / "m")})
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CheckpointError, match="truncated or not a pickle"):
        load_generator(truncated)
    text = tmp_path / "notes.pkl"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="truncated or not a pickle"):
        load_generator(text)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "absent.pkl")


def test_plain_eg3d_decoder_is_rejected_clearly(tmp_path, tiny):
    tensors = {
        name.replace("decoder.geo_net.", "decoder.net."): tensor
        for name, tensor in tiny.state_dict().items()
        if not name.startswith("decoder.app_net.")
    }
    path = _snapshot_file(tmp_path, official_generator(tiny, tmp_path / "m", tensors=tensors))
    with pytest.raises(UnsupportedCheckpoint, match="EG3D checkpoint without NeRFFaceEditing"):
        load_generator(path)


@pytest.mark.parametrize("key", ["depth_resolution", "ray_start"])
def test_auto_rendering_settings_are_unsupported(tmp_path, tiny, key):
    tree = official_generator(tiny, tmp_path / "m", rendering_overrides={key: "auto"})
    with pytest.raises(UnsupportedCheckpoint, match=rf"\['{key}'\] = 'auto' is not supported"):
        read_foreign_generator(_snapshot_file(tmp_path, tree))


def test_unknown_superresolution_module_is_unsupported(tmp_path, tiny):
    overrides = {"superresolution_module": "training.superresolution.SuperresolutionHybrid4X"}
    tree = official_generator(tiny, tmp_path / "m", rendering_overrides=overrides)
    with pytest.raises(UnsupportedCheckpoint, match="SuperresolutionHybrid4X"):
        read_foreign_generator(_snapshot_file(tmp_path, tree))


def test_wrong_architecture_lists_a_few_examples_of_each_problem(tmp_path, tiny):
    tensors = dict(tiny.state_dict())
    dropped = [name for name in tensors if name.startswith("backbone.synthesis.b16.conv")]
    for name in dropped:
        del tensors[name]
    tensors["backbone.synthesis.b8.conv1.weight"] = torch.zeros(32, 32, 1, 1)
    tensors["decoder.mystery.weight"] = torch.zeros(2)
    path = _snapshot_file(tmp_path, official_generator(tiny, tmp_path / "m", tensors=tensors))
    with pytest.raises(ArchitectureMismatch) as raised:
        load_generator(path)
    message = str(raised.value)
    assert f"{len(dropped)} missing (" in message
    assert f"and {len(dropped) - 5} more" in message
    assert "1 unexpected (decoder.mystery.weight)" in message
    assert (
        "backbone.synthesis.b8.conv1.weight: checkpoint (32, 32, 1, 1) vs model (32, 32, 3, 3)"
        in (message)
    )
    assert message.count("backbone.synthesis.b16") == 5


def _storages_saved_on_cuda(zip_bytes: bytes) -> bytes:
    """Rewrite a torch.save zip as if its storages had been saved from cuda:0."""
    source, out = zipfile.ZipFile(io.BytesIO(zip_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("/data.pkl"):
                cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
                assert cpu in data
                data = data.replace(cpu, cuda)
            target.writestr(name, data)
    return out.getvalue()


def test_ffacenerf_checkpoint_yields_adapter_and_generator(tmp_path, tiny):
    config = tiny.config
    injection_in = config.plane_channels + config.seg_classes + 1 + 3
    adapter = _adapter_tensors(injection_in, 19)
    tensors = {**tiny.state_dict(), **adapter}
    path = tmp_path / "ckpt_eyes_10.pth"
    marker = tmp_path / "m"
    tree = official_generator(tiny, marker, top_class=FFACENERF_TOP, tensors=tensors)
    path.write_bytes(_storages_saved_on_cuda(torch_save_bytes(tree)))
    state_dict, num_classes, variant = read_ffacenerf_adapter(path)
    assert (num_classes, variant) == (19, "injection")
    assert set(state_dict) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name, tensor in state_dict.items():
        assert torch.equal(tensor, adapter[f"decoder.geo_net_appdx.{name}"]), name

    imported = read_foreign_generator(path)
    assert imported.class_name == "TriPlaneGenerator_eyes"
    assert imported.config == PRESETS["tiny"]
    assert "decoder.geo_net_appdx.0.weight" not in imported.state_dict
    generator = load_generator(path)
    assert torch.equal(generator.decoder.geo_net[0].weight, tiny.decoder.geo_net[0].weight)
    assert not marker.exists()


def test_ffacenerf_simple_variant_and_missing_adapter(tmp_path, tiny):
    geo_out = tiny.config.seg_classes + 1
    tensors = {**tiny.state_dict(), **_adapter_tensors(geo_out, 19)}
    simple = tmp_path / "ckpt_simple_10.pth"
    tree = official_generator(tiny, tmp_path / "m", tensors=tensors)  # persistent top class
    simple.write_bytes(torch_save_bytes(tree))
    assert read_ffacenerf_adapter(simple)[1:] == (19, "simple")

    plain = tmp_path / "plain.pth"
    plain.write_bytes(torch_save_bytes(official_generator(tiny, tmp_path / "m")))
    with pytest.raises(CheckpointError, match="holds no FFaceNeRF geometry adapter"):
        read_ffacenerf_adapter(plain)


def test_cli_import_checkpoint_writes_a_loadable_folder(tmp_path, tiny, capsys):
    path = _snapshot_file(tmp_path, official_generator(tiny, tmp_path / "m"))
    out = tmp_path / "imported"
    assert cli_main(["import-checkpoint", str(path), str(out)]) == 0
    printed = capsys.readouterr().out
    parameters = sum(p.numel() for p in tiny.parameters())
    assert "preset matched:     tiny" in printed
    assert f"parameters:         {parameters:,}" in printed
    assert "32² neural, 64² super-resolved" in printed
    assert "samples per ray:    24 (12 coarse + 12 importance)" in printed
    reloaded = load_generator(out)
    assert reloaded.config == PRESETS["tiny"]
    for name, tensor in reloaded.state_dict().items():
        assert torch.equal(tensor, tiny.state_dict()[name]), name

    assert cli_main(["import-checkpoint", str(tmp_path / "absent.pkl"), str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
