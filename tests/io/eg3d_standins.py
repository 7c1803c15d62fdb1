"""Test helper: write pickles in the official EG3D / NeRFFaceEditing / FFaceNeRF layout.

No code of those projects is involved. `StandInPickler` writes GLOBAL opcodes with chosen
import paths for stand-in objects, so a file references `torch_utils.persistence.
_reconstruct_persistent_obj`, `training.triplane.DisentangledOSGDecoder`, `dnnlib.util.
EasyDict`… exactly as the real ones do, while tensors go through torch's own reduction
(`torch._utils._rebuild_tensor_v2` + `torch.storage._load_from_bytes` of a legacy stream in
a plain pickle; persistent storage ids in a zip `torch.save`). Every persistent record
carries `module_src` that would write `marker` if anyone executed it.
"""

from __future__ import annotations

import io
import pickle
import types
from collections import OrderedDict

import torch

from ffedit.generator import PRESETS, TriplaneGenerator


def _fake_global(module: str, qualname: str):
    def never_called(*args):
        raise AssertionError("stand-in globals are only written, never called")

    never_called.__fake_path__ = (module, qualname)
    return never_called


RECONSTRUCT_PERSISTENT_OBJ = _fake_global("torch_utils.persistence", "_reconstruct_persistent_obj")


class StandInPickler(pickle._Pickler):
    """Pure-Python pickler that spells stand-ins with their fake import path."""

    def save_global(self, obj, name=None):
        path = vars(obj).get("__fake_path__") if hasattr(obj, "__dict__") else None
        if path is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{path[0]}\n{path[1]}\n".encode())
        self.memoize(obj)
        return None

    dispatch = pickle._Pickler.dispatch.copy()
    dispatch[types.FunctionType] = save_global


def import_path_class(module: str, qualname: str, base: type = object) -> type:
    """A class pickled by reference as `module.qualname` (a non-persistent class)."""
    return type(qualname, (base,), {"__fake_path__": (module, qualname)})


EasyDict = import_path_class("dnnlib.util", "EasyDict", dict)


class PersistentObject:
    """Pickles like an EG3D `persistent_class` instance: (_reconstruct_persistent_obj, (meta,))."""

    def __init__(self, class_name: str, state: dict, module_src: str):
        self.class_name, self.state, self.module_src = class_name, state, module_src

    def __reduce__(self):
        meta = {
            "type": "class",
            "version": 6,
            "module_src": self.module_src,
            "class_name": self.class_name,
            "state": self.state,
        }
        return (RECONSTRUCT_PERSISTENT_OBJ, (meta,))


class ImportPathObject:
    """Base of non-persistent stand-ins: state is the instance `__dict__`."""

    def __init__(self, state: dict):
        self.__dict__.update(state)


def marker_source(marker) -> str:
    """Module source that leaves `marker` behind if it is ever executed."""
    return (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('module_src was executed')\n"
        "raise SystemExit('module_src must never run')\n"
    )


def module_state(parameters=None, buffers=None, modules=None, **attributes) -> dict:
    """The `__dict__` of a pickled torch 1.x `nn.Module`."""
    state = {
        "training": False,
        "_parameters": OrderedDict(parameters or {}),
        "_buffers": OrderedDict(buffers or {}),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict(modules or {}),
    }
    state.update(attributes)
    return state


_PERSISTENT_CLASS_BY_NAME = {
    "backbone": "Generator",
    "mapping": "MappingNetwork",
    "synthesis": "SynthesisNetwork",
    "superresolution": "SuperresolutionHybrid8XDC",
    "torgb": "ToRGBLayer",
    "conv0": "SynthesisLayer",
    "conv1": "SynthesisLayer",
}

DECODER_CLASS = ("training.triplane", "DisentangledOSGDecoder")


def rendering_kwargs(generator: TriplaneGenerator) -> dict:
    config = generator.config
    return {
        "image_resolution": config.image_resolution,
        "disparity_space_sampling": False,
        "clamp_mode": "softplus",
        "superresolution_module": "training.superresolution.SuperresolutionHybrid8XDC",
        "c_gen_conditioning_zero": config.c_gen_conditioning_zero,
        "gpc_reg_prob": 0.5,
        "c_scale": config.c_scale,
        "superresolution_noise_mode": config.superresolution.noise_mode,
        "density_reg": 0.25,
        "density_reg_p_dist": 0.004,
        "reg_type": "l1",
        "decoder_lr_mul": config.decoder_lr_multiplier,
        "sr_antialias": config.superresolution.antialias,
        "depth_resolution": config.render.depth_resolution,
        "depth_resolution_importance": config.render.depth_resolution_importance,
        "ray_start": config.render.ray_start,
        "ray_end": config.render.ray_end,
        "box_warp": config.render.box_warp,
        "avg_camera_radius": 2.7,
        "avg_camera_pivot": [0, 0, 0.2],
    }


def official_generator(
    generator: TriplaneGenerator,
    marker,
    *,
    top_class: tuple[str, str] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
    rendering_overrides: dict | None = None,
):
    """The stand-in object tree of `generator` as EG3D/NeRFFaceEditing pickle it.

    `top_class` (module, name) makes the top generator a non-persistent class (as in
    FFaceNeRF's `TriPlaneGenerator_eyes`), without `_init_kwargs`. `tensors` replaces the
    generator's state_dict (to add the adapter, drop or reshape entries); names that are not
    buffers of `generator` become parameters.
    """
    config = generator.config
    buffer_names = {name for name, _ in generator.named_buffers()}
    tensors = generator.state_dict() if tensors is None else tensors
    source = marker_source(marker)

    tree: dict = {}
    for name in tensors:
        node = tree
        for part in name.split(".")[:-1]:
            node = node.setdefault(part, {})

    def build(path: str, children: dict):
        own = {n.rsplit(".", 1)[1]: t for n, t in tensors.items() if n.rsplit(".", 1)[0] == path}
        parameters = {
            k: torch.nn.Parameter(v, requires_grad=False)
            for k, v in own.items()
            if f"{path}.{k}".lstrip(".") not in buffer_names
        }
        buffers = {k: v for k, v in own.items() if f"{path}.{k}".lstrip(".") in buffer_names}
        modules = {key: build(f"{path}.{key}".lstrip("."), sub) for key, sub in children.items()}
        last = path.rsplit(".", 1)[-1]
        if last in ("geo_net", "geo_net_appdx", "app_net"):
            sequential = torch.nn.Sequential()
            for key in sorted(set(modules) | {"1"}):
                sequential._modules[key] = modules.get(key, torch.nn.Softplus())
            return sequential
        if last == "decoder":
            decoder_cls = import_path_class(*DECODER_CLASS, ImportPathObject)
            return decoder_cls(module_state(parameters, buffers, modules))
        state = module_state(parameters, buffers, modules)
        if path == "backbone":
            state["_init_args"] = (config.z_dim, config.c_dim, config.w_dim)
            state["_init_kwargs"] = EasyDict(
                img_resolution=config.plane_resolution,
                img_channels=3 * config.plane_channels,
                mapping_kwargs=EasyDict(num_layers=config.mapping_layers),
                channel_base=config.channel_base,
                channel_max=config.channel_max,
                fused_modconv_default="inference_only",
                num_fp16_res=0,
                conv_clamp=config.backbone_conv_clamp,
            )
        elif path == "backbone.mapping":
            state["_init_kwargs"] = EasyDict(
                z_dim=config.z_dim,
                c_dim=config.c_dim,
                w_dim=config.w_dim,
                num_ws=config.num_ws,
                num_layers=config.mapping_layers,
            )
            state["w_avg_beta"] = config.w_avg_beta
        elif path == "superresolution":
            state["_init_kwargs"] = EasyDict(
                channels=config.feature_channels,
                img_resolution=config.image_resolution,
                sr_num_fp16_res=4 if config.superresolution.conv_clamp else 0,
                sr_antialias=config.superresolution.antialias,
                channel_base=config.channel_base,
                channel_max=config.channel_max,
                fused_modconv_default="inference_only",
            )
        else:
            state["_init_kwargs"] = EasyDict()
        state["_init_args"] = state.get("_init_args", ())
        class_name = _PERSISTENT_CLASS_BY_NAME.get(last, "FullyConnectedLayer")
        if (last.startswith("b") and last[1:].isdigit()) or last.startswith("block"):
            class_name = "SynthesisBlock"
        return PersistentObject(class_name, state, source)

    modules = {key: build(key, sub) for key, sub in tree.items()}
    renderer_cls = import_path_class(
        "training.volumetric_rendering.renderer", "DisentangledImportanceRenderer", ImportPathObject
    )
    marcher_cls = import_path_class(
        "training.volumetric_rendering.ray_marcher", "SegMipRayMarcher2", ImportPathObject
    )
    sampler_cls = import_path_class(
        "training.volumetric_rendering.ray_sampler", "RaySampler", ImportPathObject
    )
    modules["renderer"] = renderer_cls(
        module_state(
            modules={"ray_marcher": marcher_cls(module_state())},
            plane_axes=torch.eye(3).repeat(3, 1, 1),
        )
    )
    modules["ray_sampler"] = sampler_cls(module_state(ray_origins_h=None))
    rendering = {**rendering_kwargs(generator), **(rendering_overrides or {})}
    attributes = {
        "z_dim": config.z_dim,
        "c_dim": config.c_dim,
        "w_dim": config.w_dim,
        "img_resolution": config.image_resolution,
        "img_channels": 3,
        "rendering_kwargs": rendering,
        "neural_rendering_resolution": config.neural_rendering_resolution,
    }
    state = module_state(modules=modules, **attributes)
    if top_class is not None:
        return import_path_class(*top_class, ImportPathObject)(state)
    state["_init_args"] = ()
    state["_init_kwargs"] = EasyDict(
        z_dim=config.z_dim,
        c_dim=config.c_dim,
        w_dim=config.w_dim,
        img_resolution=config.image_resolution,
        img_channels=3,
        sr_num_fp16_res=4 if config.superresolution.conv_clamp else 0,
        mapping_kwargs=EasyDict(num_layers=config.mapping_layers),
        rendering_kwargs=EasyDict(rendering),
        sr_kwargs=EasyDict(channel_base=config.channel_base, channel_max=config.channel_max),
        channel_base=config.channel_base,
        channel_max=config.channel_max,
        fused_modconv_default="inference_only",
        num_fp16_res=0,
        conv_clamp=config.backbone_conv_clamp,
    )
    return PersistentObject("TriPlaneGenerator", state, source)


def snapshot_bytes(snapshot: dict, protocol: int = 4) -> bytes:
    """A plain pickle of an EG3D training snapshot dict (`pickle.dump(dict(G=…, G_ema=…))`)."""
    buffer = io.BytesIO()
    StandInPickler(buffer, protocol=protocol).dump(snapshot)
    return buffer.getvalue()


def torch_save_bytes(obj) -> bytes:
    """A zip-format `torch.save` of a stand-in tree (FFaceNeRF's `torch.save(G)`)."""
    buffer = io.BytesIO()
    pickle_module = types.ModuleType("standin_pickle")
    pickle_module.Pickler = StandInPickler
    torch.save(obj, buffer, pickle_module=pickle_module)
    return buffer.getvalue()


def random_tiny_generator(seed: int = 0) -> TriplaneGenerator:
    """The `tiny` generator with every tensor random, so bitwise comparisons mean something."""
    generator = TriplaneGenerator(PRESETS["tiny"])
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in generator.state_dict().values():
            tensor.copy_(torch.randn(tensor.shape, generator=rng))
    return generator
