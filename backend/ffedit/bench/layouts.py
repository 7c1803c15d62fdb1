"""`ffedit bench layouts`: few-shot layout quality against exact ground truth (benchmarks.md §2).

For each layout, adapters are trained on N annotated samples (one face at one view with its
ground-truth mask; views front/left/right in turn) drawn from a training range of faces, and
predict masks for held-out faces × front/left/right. Per adapter: mIoU over the classes
present (per image, then the mean: the reference evaluation), the same over the layout's
new classes (those the generator's own `base15` does not have), base-class mIoU (the
prediction merged back to `base15`, comparable to the generator's own logits), per-class
pooled IoU, per-view mIoU, and the training wall-clock time. Variants (same data):

- `full`: the method with the default ("positional") adapter; `no-position`: the paper's
  adapter (feature injection without the point's position); `no-injection`: the adapter
  sees only the geometry-decoder output; `no-lmta`: no latent mixing; `no-overlap`: no
  Dice term;
- `front-only`: the method trained on front views only, so left/right are never annotated
  (3D consistency of the predicted masks);
- shots N ∈ `shots` for `full`; every variant uses `variant_shots`;
- the paper's full-image trainer against the fast one (`trainer_comparison` layouts).

Besides the built-in layouts, `cheek-patch` is `base15` with a class no synthface fine label
has: a blush-sized cheek patch defined on the 3D surface (`synthface.regions`), painted over
skin; its exact masks come with the faces (`BenchFaces.cheek_patch`). Each run is also
measured on its own training samples (per-class IoU at the views it was trained on).

Every configuration runs with several training seeds (mean ± std). Training goes through a
`FitRun` (default: `fit_adapter`), so a caller can keep finished adapters and resume an
interrupted benchmark without retraining them. All adapters of a layout
are evaluated in one deterministic render per view: they share the generator's density, so
their heads are stacked into one seg head. Ground truth comes in as synthface fine-label maps
(`BenchFaces`); only the command (`run`) renders them with synthface.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch

from ffedit.adapter.config import AdapterTrainingConfig, with_steps
from ffedit.adapter.network import ADAPTER_VARIANTS, GeometryAdapter
from ffedit.adapter.training import AdapterFit, LayoutSample, fit_adapter
from ffedit.bench import report
from ffedit.camera import named_camera
from ffedit.cli.common import (
    RENDER_CHUNK_RAYS,
    front_ws,
    layout_generator,
    name_list,
    seed_range,
    set_torch_threads,
)
from ffedit.config import DEFAULT_MODEL_PATH
from ffedit.device import resolve_device
from ffedit.generator import TriplaneGenerator
from ffedit.layouts import (
    BASE_LAYOUT,
    BUILTIN_LAYOUTS,
    FINE_LABEL_IDS,
    Layout,
    LayoutClass,
    UnknownLayout,
    class_of_fine_label,
    extend_layout,
    get_layout,
    labels_from_fine,
)
from ffedit.layouts.metrics import class_ious, iou_table, mean_iou

VIEWS = ("front", "left", "right")
VARIANTS = ("full", "no-position", "no-injection", "no-lmta", "no-overlap", "front-only")
ABLATIONS = ("no-position", "no-injection", "no-lmta", "no-overlap")
GENERATOR_LAYOUT = BASE_LAYOUT
SECTION_TITLE = "Few-shot layouts"
SUMMARY_KEY = ("layout", "variant", "shots", "trainer", "steps")
"""What runs of one setting share (they differ only in seed)."""
SECTION_INTRO = (
    "Geometry adapters trained on N annotated samples (one synthface face at one view with "
    "its exact mask; views front/left/right in turn), evaluated on held-out faces × "
    "front/left/right against synthface's exact masks at the generator's mask resolution. "
    "mIoU: per image over the classes present, then the mean (the reference evaluation); "
    "*new*: the same over the layout's classes that `base15` lacks; *base*: predictions "
    "merged back to `base15`, to compare with the generator's own logits; per-class IoU "
    "pooled over all test images. Mean ± std over training seeds, in percent; time is "
    "the wall-clock training time per adapter. Written by `ffedit bench layouts`."
)
EVAL_BATCH = 4
"""Faces rendered together during evaluation."""
CHEEK_PATCH = LayoutClass("cheek_patch", (255, 80, 120))
"""The cheek patch (`synthface.regions.cheek_patch_masks`), painted over `PATCH_OVER`."""
PATCH_OVER = "skin"
"""The `base15` class the cheek patch takes its pixels from."""
BENCH_LAYOUTS: dict[str, Layout] = {
    **BUILTIN_LAYOUTS,
    "cheek-patch": extend_layout(get_layout(BASE_LAYOUT), "cheek-patch", (CHEEK_PATCH,)),
}
"""Layouts the benchmark knows: the built-ins and `cheek-patch`."""


class BenchFaces(NamedTuple):
    """Faces with ground truth at the named views."""

    seeds: tuple[int, ...]
    """Face seeds (synthface latents)."""
    ws: torch.Tensor
    """(F, num_ws, w_dim) the generator's latents of the faces."""
    fine_labels: torch.Tensor
    """(F, 3, H, W) int64 fine labels at `VIEWS`, at the generator's mask resolution."""
    cheek_patch: torch.Tensor
    """(F, 3, H, W) bool: the cheek patch at `VIEWS` (on skin pixels only)."""


def bench_layout(name: str) -> Layout:
    """A layout of `BENCH_LAYOUTS` by name; `UnknownLayout` lists the known names otherwise."""
    try:
        return BENCH_LAYOUTS[name]
    except KeyError:
        raise UnknownLayout(f"unknown layout {name!r}; known: {', '.join(BENCH_LAYOUTS)}") from None


def layout_labels(faces: BenchFaces, layout: Layout) -> torch.Tensor:
    """(F, 3, H, W) exact class ids of the faces in `layout`: from their fine labels, with
    the cheek patch painted over skin if the layout has it."""
    labels = labels_from_fine(faces.fine_labels, layout)
    if CHEEK_PATCH.name not in layout.class_names:
        return labels
    return torch.where(faces.cheek_patch, layout.class_id(CHEEK_PATCH.name), labels)


@dataclass(frozen=True)
class RunSpec:
    """One adapter to train."""

    layout: str
    variant: str
    shots: int
    seed: int
    trainer: str = "fast"
    steps: int | None = None
    """Optimizer steps of this run; None: the benchmark's training config's."""


FitRun = Callable[[TriplaneGenerator, RunSpec, list[LayoutSample], Layout, AdapterTrainingConfig],
                  AdapterFit]  # fmt: skip
"""fit(generator, spec, samples, layout, config) → the run's trained adapter."""


def train_run(
    generator: TriplaneGenerator,
    spec: RunSpec,
    samples: list[LayoutSample],
    layout: Layout,
    config: AdapterTrainingConfig,
) -> AdapterFit:
    """The default `FitRun`: train the adapter (`fit_adapter`)."""
    return fit_adapter(generator, samples, layout, config)


def run_name(spec: RunSpec) -> str:
    """A file-system-safe name of a run, e.g. 'eyes19-full-n10-seed0-fast' (with
    '-100steps' appended for a run of its own step count)."""
    name = f"{spec.layout}-{spec.variant}-n{spec.shots}-seed{spec.seed}-{spec.trainer}"
    return name if spec.steps is None else f"{name}-{spec.steps}steps"


def variant_config(base: AdapterTrainingConfig, spec: RunSpec) -> AdapterTrainingConfig:
    """The training config of a run: `base` with the variant's change, trainer, seed and
    (if the run has its own) step count."""
    if spec.steps is not None:
        base = with_steps(base, spec.steps)
    changes: dict[str, Any] = {"seed": spec.seed, "trainer": spec.trainer}
    if spec.variant == "no-injection":
        changes["variant"] = "simple"
    elif spec.variant == "no-position":
        changes["variant"] = "injection"
    elif spec.variant == "no-lmta":
        changes["lmta_probability"] = 0.0
    elif spec.variant == "no-overlap":
        changes["overlap_weight"] = 0.0
    elif spec.variant not in ("full", "front-only"):
        raise ValueError(f"unknown variant {spec.variant!r}; known: {', '.join(VARIANTS)}")
    return dataclasses.replace(base, **changes)


def sample_positions(num_faces: int, spec: RunSpec) -> list[tuple[int, int]]:
    """(face, view) of each of `spec.shots` annotated samples: the first faces of a
    seed-`spec.seed` permutation of `num_faces` training faces (so smaller N are subsets of
    larger ones), views front/left/right in turn (offset by the seed), or all front for
    `front-only`."""
    if spec.shots > num_faces:
        raise ValueError(f"{spec.shots} shots need {spec.shots} training faces, have {num_faces}")
    order = torch.randperm(num_faces, generator=torch.Generator().manual_seed(spec.seed))
    return [
        (face, 0 if spec.variant == "front-only" else (position + spec.seed) % len(VIEWS))
        for position, face in enumerate(order[: spec.shots].tolist())
    ]


def training_samples(faces: BenchFaces, layout: Layout, spec: RunSpec) -> list[LayoutSample]:
    """The annotated samples of a run at `sample_positions`."""
    labels = layout_labels(faces, layout)
    return [
        LayoutSample(faces.ws[face], named_camera(VIEWS[view]), labels[face, view])
        for face, view in sample_positions(len(faces.seeds), spec)
    ]


def planned_runs(
    layouts: list[str],
    variants: list[str],
    shots: list[int],
    seeds: int,
    variant_shots: int,
    trainer_comparison: list[str],
    comparison_steps: int | None = None,
) -> list[RunSpec]:
    """Every run: each variant at `variant_shots`, `full` at each other shot count, for each
    layout and seed; plus the full-image trainer (seed 0) for the comparison layouts, and
    with `comparison_steps` (the full-image trainer is ~60× slower per step on a CPU) both
    trainers at that many steps instead, so the two are compared on the same schedule."""
    runs = []
    for layout in layouts:
        for seed in range(seeds):
            runs += [RunSpec(layout, variant, variant_shots, seed) for variant in variants]
            runs += [RunSpec(layout, "full", n, seed) for n in shots if n != variant_shots]
        if layout in trainer_comparison:
            trainers = ("full",) if comparison_steps is None else ("fast", "full")
            runs += [
                RunSpec(layout, "full", variant_shots, 0, trainer, comparison_steps)
                for trainer in trainers
            ]
    return runs


def _stacked_head(adapters: list[GeometryAdapter]):
    """One seg head: the generator's own logits, then every adapter's, along channels."""

    def head(features, geo_output, directions, points) -> torch.Tensor:
        adapted = (adapter(features, geo_output, directions, points) for adapter in adapters)
        return torch.cat([geo_output[..., 1:], *adapted], -1)

    return head


def _rendered_labels(
    generator: TriplaneGenerator,
    adapters: list[GeometryAdapter],
    ws: torch.Tensor,
    cameras: torch.Tensor,
    chunk_rays: int | None,
) -> list[torch.Tensor]:
    """The generator's own labels, then each adapter's, (B, H, W) int64 on the CPU, of ws
    (B, num_ws, w_dim) from cameras (B or 1, 25), in one deterministic render."""
    splits = [generator.config.seg_classes] + [a.num_classes for a in adapters]
    with torch.no_grad():
        logits = generator.render(
            ws,
            cameras.to(ws.device),
            super_resolve=False,
            chunk_rays=chunk_rays,
            seg_head=_stacked_head(adapters),
        ).seg_logits
    return [part.argmax(1).cpu() for part in logits.split(splits, dim=1)]


def predict_all(
    generator: TriplaneGenerator,
    adapters: list[GeometryAdapter],
    faces: BenchFaces,
    chunk_rays: int | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The generator's own labels and each adapter's, (F, 3, H, W) int64 each, at `VIEWS`,
    from one deterministic render per face batch and view."""
    batches = []
    for start in range(0, len(faces.seeds), EVAL_BATCH):
        ws = faces.ws[start : start + EVAL_BATCH]
        per_view = [
            _rendered_labels(generator, adapters, ws, named_camera(view)[None], chunk_rays)
            for view in VIEWS
        ]
        batches.append([torch.stack(views, dim=1) for views in zip(*per_view, strict=True)])
    own, *adapted = (torch.cat(parts) for parts in zip(*batches, strict=True))
    return own, adapted


def predict_samples(
    generator: TriplaneGenerator,
    adapters: list[GeometryAdapter],
    faces: BenchFaces,
    positions: list[tuple[int, int]],
    chunk_rays: int | None = None,
) -> list[torch.Tensor]:
    """Each adapter's labels (N, H, W) int64 of the faces at their views, (face, view) each."""
    cameras = torch.stack([named_camera(VIEWS[view]) for _, view in positions])
    ws = faces.ws[[face for face, _ in positions]]
    batches = [
        _rendered_labels(
            generator,
            adapters,
            ws[start : start + EVAL_BATCH],
            cameras[start : start + EVAL_BATCH],
            chunk_rays,
        )[1:]
        for start in range(0, len(positions), EVAL_BATCH)
    ]
    return [torch.cat(labels) for labels in zip(*batches, strict=True)]


def base_class_table(layout: Layout) -> torch.Tensor:
    """(K,) the `base15` class of each class of a benchmark layout (via its first fine label;
    `PATCH_OVER` for the cheek patch; 0 for another class without fine labels)."""
    base = get_layout(GENERATOR_LAYOUT)
    of_fine = class_of_fine_label(base)

    def base_class(layout_class: LayoutClass) -> int:
        if layout_class == CHEEK_PATCH:
            return base.class_id(PATCH_OVER)
        return (
            int(of_fine[FINE_LABEL_IDS[layout_class.fine_labels[0]]])
            if layout_class.fine_labels
            else 0
        )

    return torch.tensor([base_class(c) for c in layout.classes], dtype=torch.int64)


def new_classes(layout: Layout) -> list[int]:
    """Ids of the layout's classes whose names `base15` does not have."""
    known = set(get_layout(GENERATOR_LAYOUT).class_names)
    return [k for k, name in enumerate(layout.class_names) if name not in known]


def run_metrics(predicted: torch.Tensor, faces: BenchFaces, layout: Layout) -> dict:
    """Metrics of predictions (F, 3, H, W) in `layout` of the faces at `VIEWS`."""
    target = layout_labels(faces, layout)
    table = iou_table(predicted.flatten(0, 1), target.flatten(0, 1), layout.num_classes)
    base = get_layout(GENERATOR_LAYOUT)
    merged = base_class_table(layout)[predicted]
    base_target = labels_from_fine(faces.fine_labels, base)
    base_table = iou_table(merged.flatten(0, 1), base_target.flatten(0, 1), base.num_classes)
    per_view = {
        view: mean_iou(iou_table(predicted[:, v], target[:, v], layout.num_classes))
        for v, view in enumerate(VIEWS)
    }
    new_per_view = {
        view: mean_iou(
            iou_table(predicted[:, v], target[:, v], layout.num_classes), new_classes(layout)
        )
        for v, view in enumerate(VIEWS)
    }
    return {
        "miou": mean_iou(table),
        "new_miou": mean_iou(table, new_classes(layout)),
        "base_miou": mean_iou(base_table),
        **class_metrics(predicted, target, layout),
        "view_miou": per_view,
        "view_new_miou": new_per_view,
    }


def class_metrics(predicted: torch.Tensor, target: torch.Tensor, layout: Layout) -> dict:
    """Pooled IoU per class and [target, predicted] pixels per new class of label maps
    (..., H, W), the same shape for both."""
    table = iou_table(predicted.flatten(0, -3), target.flatten(0, -3), layout.num_classes)
    predicted_pixels = torch.bincount(predicted.flatten(), minlength=layout.num_classes)
    target_pixels = torch.bincount(target.flatten(), minlength=layout.num_classes)
    return {
        "class_iou": dict(zip(layout.class_names, class_ious(table).tolist(), strict=True)),
        "class_pixels": {
            layout.class_names[k]: [int(target_pixels[k]), int(predicted_pixels[k])]
            for k in new_classes(layout)
        },
    }


def generator_metrics(own: torch.Tensor, fine_labels: torch.Tensor) -> dict:
    """`base15` mIoU of the generator's own composited logits, overall and per view."""
    base = get_layout(GENERATOR_LAYOUT)
    target = labels_from_fine(fine_labels, base)
    return {
        "base_miou": mean_iou(iou_table(own.flatten(0, 1), target.flatten(0, 1), base.num_classes)),
        "view_miou": {
            view: mean_iou(iou_table(own[:, v], target[:, v], base.num_classes))
            for v, view in enumerate(VIEWS)
        },
    }


RunCallback = Callable[[int, int, RunSpec, AdapterFit], None]


def run_layout_benchmark(
    generator: TriplaneGenerator,
    train_faces: BenchFaces,
    test_faces: BenchFaces,
    runs: list[RunSpec],
    config: AdapterTrainingConfig,
    on_run: RunCallback | None = None,
    chunk_rays: int | None = None,
    fit_run: FitRun = train_run,
) -> dict:
    """Train every run, evaluate each layout's adapters on the test faces and on their own
    training samples; JSON-ready results: {"generator": generator_metrics, "runs": [spec +
    seconds + kept_weight + metrics + "own_samples": class_metrics, …]}."""
    results: list[dict] = []
    own = None
    for layout_name in dict.fromkeys(spec.layout for spec in runs):
        layout = bench_layout(layout_name)
        layout_runs = [spec for spec in runs if spec.layout == layout_name]
        fits = []
        for spec in layout_runs:
            samples = training_samples(train_faces, layout, spec)
            fit = fit_run(generator, spec, samples, layout, variant_config(config, spec))
            fits.append(fit)
            if on_run is not None:
                on_run(len(results) + len(fits), len(runs), spec, fit)
        adapters = [fit.adapter for fit in fits]
        own, predictions = predict_all(generator, adapters, test_faces, chunk_rays)
        positions = [sample_positions(len(train_faces.seeds), spec) for spec in layout_runs]
        trained_at = list(dict.fromkeys(p for run_positions in positions for p in run_positions))
        on_samples = predict_samples(generator, adapters, train_faces, trained_at, chunk_rays)
        train_labels = layout_labels(train_faces, layout)
        for spec, fit, predicted, run_positions, sampled in zip(
            layout_runs, fits, predictions, positions, on_samples, strict=True
        ):
            rows = [trained_at.index(p) for p in run_positions]
            face_ids, views = zip(*run_positions, strict=True)
            target = train_labels[list(face_ids), list(views)]
            results.append(
                {
                    **dataclasses.asdict(spec),
                    "seconds": fit.seconds,
                    "kept_weight": fit.kept_weight,
                    "final_loss": fit.final_losses.get("total"),
                    **run_metrics(predicted, test_faces, layout),
                    "own_samples": class_metrics(sampled[rows], target, layout),
                }
            )
    if own is None:
        own, _ = predict_all(generator, [], test_faces, chunk_rays)
    return {"generator": generator_metrics(own, test_faces.fine_labels), "runs": results}


def summarize(runs: list[dict]) -> list[dict]:
    """Runs grouped by (layout, variant, shots, trainer, steps): mean and std over seeds of
    every scalar metric, per-view and per-class ones included (`own_class_iou`: per class on
    the runs' own training samples)."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        key = tuple(run.get(name) for name in SUMMARY_KEY)
        groups.setdefault(key, []).append(run)
    summary = []
    for key, members in groups.items():
        entry: dict[str, Any] = {**dict(zip(SUMMARY_KEY, key, strict=True)), "seeds": len(members)}
        for name in ("miou", "new_miou", "base_miou", "seconds"):
            entry[name] = _mean_std([m[name] for m in members])
        for name in ("view_miou", "view_new_miou", "class_iou"):
            entry[name] = {
                key: _mean_std([m[name][key] for m in members]) for key in members[0][name]
            }
        entry["own_class_iou"] = {
            key: _mean_std([m["own_samples"]["class_iou"][key] for m in members])
            for key in members[0]["own_samples"]["class_iou"]
        }
        summary.append(entry)
    return summary


def _mean_std(values: list[float | None]) -> list[float]:
    """[mean, std] (population std over seeds) of the non-NaN values; [nan, nan] if none."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return [math.nan, math.nan]
    return [statistics.fmean(kept), statistics.pstdev(kept)]


def _cell(value: list[float], scale: float = 100.0, digits: int = 1) -> str:
    mean, std = value
    if math.isnan(mean):
        return "–"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def _find(
    summary: list[dict],
    layout: str,
    variant: str,
    shots: int,
    trainer: str = "fast",
    steps: int | None = None,
):
    wanted = (layout, variant, shots, trainer, steps)
    for entry in summary:
        if tuple(entry[name] for name in SUMMARY_KEY) == wanted:
            return entry
    return None


def markdown_section(results: dict, context: dict) -> str:
    """The body of the "Few-shot layouts" section of docs/benchmarks.md."""
    summary = summarize(results["runs"])
    layouts = list(dict.fromkeys(entry["layout"] for entry in summary))
    variants = list(dict.fromkeys(e["variant"] for e in summary if e["trainer"] == "fast"))
    shots = sorted({e["shots"] for e in summary if e["variant"] == "full"})
    variant_shots = context["variant_shots"]
    own = results["generator"]
    lines = [
        SECTION_INTRO,
        "",
        fast_trainer_note(context["config"]),
        "",
        f"- model: `{context['model']}`; device: {context['device']}; machine: "
        f"{context['machine']}; date: {context['date']}",
        f"- held-out faces: {context['faces']}; training faces: {context['train_faces']}; "
        f"seeds: {context['seeds']}; training: {context['training']}",
        f"- command: `{context['command']}`",
        f"- the generator's own `base15` mIoU on these views: {own['base_miou'] * 100:.1f} "
        "(front/left/right: " + "/".join(f"{own['view_miou'][v] * 100:.1f}" for v in VIEWS) + ")",
        "",
        f"**Variants** (N = {variant_shots}):",
        "",
        "| layout | variant | mIoU | new-class mIoU | base-class mIoU | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for layout in layouts:
        for variant in variants:
            entry = _find(summary, layout, variant, variant_shots)
            if entry is None:
                continue
            lines.append(
                f"| {layout} | {variant} | {_cell(entry['miou'])} | {_cell(entry['new_miou'])} "
                f"| {_cell(entry['base_miou'])} | {_cell(entry['seconds'], 1.0)} |"
            )
    lines += _ablation_lines(summary, layouts, variants, variant_shots)
    if len(shots) > 1:
        lines += [
            "",
            "**Shots** (variant `full`; mIoU / new-class mIoU):",
            "",
            "| layout | " + " | ".join(f"N = {n}" for n in shots) + " |",
            "|---|" + "---|" * len(shots),
        ]
        for layout in layouts:
            cells = []
            for n in shots:
                entry = _find(summary, layout, "full", n)
                cells.append(
                    "–" if entry is None else f"{_cell(entry['miou'])} / {_cell(entry['new_miou'])}"
                )
            lines.append(f"| {layout} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"**Views** (N = {variant_shots}; mIoU / new-class mIoU per view; `front-only` never "
        "saw an annotated left or right view):",
        "",
        "| layout | variant | front | left | right |",
        "|---|---|---|---|---|",
    ]
    for layout in layouts:
        for variant in ("full", "front-only"):
            entry = _find(summary, layout, variant, variant_shots)
            if entry is None:
                continue
            cells = [
                f"{_cell(entry['view_miou'][v])} / {_cell(entry['view_new_miou'][v])}"
                for v in VIEWS
            ]
            lines.append(f"| {layout} | {variant} | " + " | ".join(cells) + " |")
    lines += _trainer_lines(summary, layouts, variant_shots, context["config"]["steps"])
    lines += [
        "",
        f"**New classes** (variant `full`, N = {variant_shots}; pooled IoU on the held-out "
        "faces, and on each adapter's own training samples at their views):",
        "",
        "| layout | class IoU | on its training samples |",
        "|---|---|---|",
    ]
    for layout in layouts:
        entry = _find(summary, layout, "full", variant_shots)
        if entry is None:
            continue
        lines.append(
            f"| {layout} | {_new_class_cells(entry, layout)} "
            f"| {_new_class_cells(entry, layout, 'own_class_iou')} |"
        )
    return "\n".join(lines) + "\n"


def _new_class_cells(entry: dict, layout: str, key: str = "class_iou") -> str:
    """'name IoU, …' of the layout's new classes in a summary entry (pooled IoU `key`)."""
    classes = bench_layout(layout)
    names = [classes.class_names[k] for k in new_classes(classes)]
    return ", ".join(f"{name} {_cell(entry[key][name])}" for name in names)


def fast_trainer_note(config: dict) -> str:
    """How the fast trainer of `config` (an `AdapterTrainingConfig.to_dict()`) differs from
    the paper's procedure (a paragraph of the section)."""
    kept = (
        "every sample"
        if config["points_per_ray"] is None
        else (f"the {config['points_per_ray']} samples with the largest compositing weights")
    )
    return (
        "The fast trainer (the default) changes how the loss is evaluated, not the method: "
        f"(1) each sample's adapter inputs along its rays are cached once, at deterministic "
        f"ray samples and constant backbone noise (the paper jitters the samples and draws "
        f"backbone noise every step), keeping {kept} per ray; (2) a step sees "
        f"{config['rays_per_sample']} class-stratified rays per sample from a cached pool of "
        f"{config['pool_rays']}, not all pixels: pixel weights make the cross-entropy and the "
        "Dice sums estimates of the whole-image ones, so Dice is computed over the sampled "
        "rays (its smooth term of 1 keeps its whole-image scale); (3) LMTA draws from "
        f"{config['lmta_pool']} mixing latents fixed up front (the paper draws a fresh z per "
        "augmented batch), each with re-synthesised planes and re-sampled rays; "
        f"(4) {config['steps']} steps (the paper: 5000), overlap loss from step "
        f"{config['overlap_start_step']}. The **Trainers** table runs the paper's full-image "
        "trainer with the same schedule on the same data, backbone noise "
        f"{config.get('backbone_noise', 'random')}."
    )


def _ablation_lines(summary, layouts, variants, variant_shots) -> list[str]:
    """New-class mIoU of each ablation averaged over the layouts, next to the full method's."""
    present = [v for v in ("full", *ABLATIONS) if v in variants]
    if len(present) < 2:
        return []
    means = {}
    for variant in present:
        values = [_find(summary, layout, variant, variant_shots) for layout in layouts]
        values = [
            v["new_miou"][0] for v in values if v is not None and not math.isnan(v["new_miou"][0])
        ]
        means[variant] = statistics.fmean(values) if values else math.nan
    cells = " | ".join(f"{v}: {means[v] * 100:.1f}" for v in present)
    return ["", f"New-class mIoU averaged over the layouts: {cells}."]


def _trainer_lines(summary, layouts, variant_shots, default_steps: int) -> list[str]:
    rows = []
    for layout in layouts:
        full = next((e for e in summary if (e["layout"], e["trainer"]) == (layout, "full")), None)
        steps = None if full is None else full["steps"]
        fast = _find(summary, layout, "full", variant_shots, steps=steps)
        if full is None or fast is None:
            continue
        for name, entry in (("fast (cached rays)", fast), ("full (whole images)", full)):
            seeds = "seed 0" if name.startswith("full") else f"{entry['seeds']} seeds"
            rows.append(
                f"| {layout} | {name} | {steps or default_steps} | {_cell(entry['miou'])} "
                f"| {_cell(entry['new_miou'])} | {_new_class_cells(entry, layout)} "
                f"| {_cell(entry['seconds'], 1.0)} | {seeds} |"
            )
    if not rows:
        return []
    return [
        "",
        f"**Trainers** (variant `full`, N = {variant_shots}; same loss, schedule and data):",
        "",
        "| layout | trainer | steps | mIoU | new-class mIoU | new classes (pooled IoU) "
        "| time (s) | runs |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]


DESCRIPTION = (
    "Train geometry adapters for each layout on N annotated synthface samples (training "
    "faces), predict masks for held-out faces × front/left/right, and measure mIoU, "
    "new-class mIoU, per-class and per-view IoU and training time, over several seeds, for "
    "the method, its ablations, several N and both trainers (benchmarks.md §2). Writes JSON "
    "and optionally the 'Few-shot layouts' section of a Markdown file."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faces", type=seed_range, default="0:40", help="held-out faces (0:40)")
    parser.add_argument(
        "--train-faces", type=seed_range, default="10000:20", help="training faces (10000:20)"
    )
    parser.add_argument("--json", required=True, help="JSON file to write")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument(
        "--layouts",
        type=name_list,
        default="base17,eyes19,nose19,chin20",
        help=f"layouts (base17,eyes19,nose19,chin20); known: {', '.join(BENCH_LAYOUTS)}",
    )
    parser.add_argument("--shots", default="1,5,10,20", help="shot counts N (1,5,10,20)")
    parser.add_argument("--variant-shots", type=int, default=10, help="N of the variants (10)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per setting (3)")
    parser.add_argument(
        "--variants",
        type=name_list,
        default="full,no-position,no-injection,no-lmta,no-overlap,front-only",
        help="full, no-position, no-injection, no-lmta, no-overlap, front-only",
    )
    parser.add_argument(
        "--compare-trainers",
        type=name_list,
        default="eyes19",
        help="layouts where the full-image trainer also runs ('' for none; default eyes19)",
    )
    parser.add_argument(
        "--compare-steps",
        type=int,
        help="run both trainers of the comparison at this many steps (the full-image trainer "
        "takes ~5.5 s a step on a 2-core CPU; default: the training steps, one run of it)",
    )
    parser.add_argument("--preset", default="fast", help="training preset (fast)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    parser.add_argument(
        "--adapter-variant",
        choices=ADAPTER_VARIANTS,
        help="adapter variant of the `full` runs (default: the preset's)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--store",
        help="keep every trained adapter in this folder and reuse it when the benchmark runs "
        "again (an interrupted run resumes; figures are the same)",
    )
    parser.add_argument(
        "--markdown", help="Markdown file whose 'Few-shot layouts' section to update"
    )


def stored_fit_run(store: Path) -> FitRun:
    """A `FitRun` that keeps each trained adapter (and its time and losses) in
    `store`/<run name>/ and loads it instead of training when it is already there."""
    from ffedit.io.adapters import load_adapter, save_adapter

    def fit_run(generator, spec, samples, layout, config):
        folder = store / run_name(spec)
        if (folder / "manifest.json").is_file():
            saved = load_adapter(folder, generator.device, generator.config)
            record = saved.metrics
            return AdapterFit(
                saved.adapter,
                record["steps"],
                False,
                record["seconds"],
                record["final_losses"],
                (),
                record["kept_weight"],
            )
        fit = train_run(generator, spec, samples, layout, config)
        record = {
            "steps": fit.steps,
            "seconds": fit.seconds,
            "final_losses": fit.final_losses,
            "kept_weight": fit.kept_weight,
        }
        save_adapter(folder, fit.adapter.cpu(), layout, config, record)
        fit.adapter.to(generator.device)
        return fit

    return fit_run


def synthface_bench_faces(generator: TriplaneGenerator, seeds: list[int]) -> BenchFaces:
    """`BenchFaces` of synthface seeds: ws from their latents, fine labels and cheek patches
    at the views."""
    from ffedit.synthface import cheek_patch_masks, face_from_latent, latent_from_seed, render_face

    latents = torch.stack([latent_from_seed(seed) for seed in seeds])
    cameras = torch.stack([named_camera(view) for view in VIEWS])
    resolution = generator.config.neural_rendering_resolution
    fine, patches = [], []
    for z in latents:
        face = face_from_latent(z)
        rendered = render_face(face, cameras, resolution)
        fine.append(rendered.fine_labels)
        patches.append(cheek_patch_masks(face, cameras, rendered))
    return BenchFaces(
        tuple(seeds), front_ws(generator, latents), torch.stack(fine), torch.stack(patches)
    )


def _checked_settings(args: argparse.Namespace) -> tuple[list[int], AdapterTrainingConfig]:
    """(shot counts, training config) of the arguments; ValueError, UnknownLayout, KeyError."""
    from ffedit.adapter import TRAINING_PRESETS

    shots = [int(n) for n in args.shots.split(",")]
    for name in args.layouts:
        bench_layout(name)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    if args.compare_steps is not None and args.compare_steps < 1:
        raise ValueError(f"--compare-steps must be at least 1, got {args.compare_steps}")
    if set(args.faces) & set(args.train_faces):
        raise ValueError("--faces and --train-faces overlap: held-out faces must be unseen")
    if max([*shots, args.variant_shots]) > len(args.train_faces):
        raise ValueError(f"N up to {max([*shots, args.variant_shots])} needs as many --train-faces")
    config = TRAINING_PRESETS[args.preset]
    if args.adapter_variant is not None:
        config = dataclasses.replace(config, variant=args.adapter_variant)
    return shots, with_steps(config, args.steps) if args.steps else config


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import UnknownLayout

    set_torch_threads(args.threads)
    try:
        shots, config = _checked_settings(args)
    except (ValueError, UnknownLayout, KeyError) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    device = resolve_device(args.device)
    try:
        generator = layout_generator(args.model, device)
        train_faces = synthface_bench_faces(generator, args.train_faces)
        test_faces = synthface_bench_faces(generator, args.faces)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    comparison = [name for name in args.compare_trainers if name in args.layouts]
    runs = planned_runs(
        args.layouts,
        args.variants,
        shots,
        args.seeds,
        args.variant_shots,
        comparison,
        args.compare_steps,
    )
    with tqdm(total=len(runs), desc="adapters", unit="run") as bar:

        def on_run(index, total, spec, fit):
            bar.update(1)
            bar.set_postfix(
                layout=spec.layout, variant=spec.variant, n=spec.shots, s=f"{fit.seconds:.0f}"
            )

        fit_run = stored_fit_run(Path(args.store)) if args.store else train_run
        results = run_layout_benchmark(
            generator, train_faces, test_faces, runs, config, on_run, RENDER_CHUNK_RAYS, fit_run
        )
    faces, train = args.faces, args.train_faces
    run_stamp = report.stamp("layouts", args, compare_trainers=comparison)
    context = {
        "command": run_stamp.command,
        "model": str(args.model),
        "device": report.describe_device(device),
        "machine": run_stamp.machine,
        "date": run_stamp.date,
        "faces": f"{faces[0]}:{len(faces)}",
        "train_faces": f"{train[0]}:{len(train)}",
        "seeds": args.seeds,
        "variant_shots": args.variant_shots,
        "training": f"preset {args.preset}, {config.steps} steps" + f", {config.variant} adapter",
        "config": config.to_dict(),
    }
    document = {**context, **results, "summary": summarize(results["runs"])}
    report.write_json(args.json, document)
    print(f"wrote {args.json} ({len(runs)} adapters)")
    for entry in document["summary"]:
        print(
            f"  {entry['layout']:7} {entry['variant']:12} N={entry['shots']:<3} "
            f"{entry['trainer']:4} {entry['steps'] or config.steps:5} steps  "
            f"mIoU {entry['miou'][0] * 100:5.1f}  "
            f"new {entry['new_miou'][0] * 100:5.1f}  {entry['seconds'][0]:6.1f} s"
        )
    if args.markdown:
        report.publish(markdown_section(results, context), args.markdown, SECTION_TITLE, False)
    return 0
