"""The few-shot geometry adapter: per-layout segmentation heads trained on ~10 masks.

- `GeometryAdapter` (`network`): FFaceNeRF's per-point head (with or without feature
  injection) that the generator composites instead of its own segmentation logits.
- `fit_adapter` (`training`) with `AdapterTrainingConfig` and `TRAINING_PRESETS` (`config`):
  CE + λ·overlap, OneCycle, LMTA (`augment`); a fast cached, ray-sampled trainer (`cache`,
  `rays`) and the paper's full-image trainer.
- `predict_masks`, `predict_logits` (`predict`); losses (`losses`).
- `class_iou_on_samples` (`evaluation`): per class, how well the training samples are
  reproduced (pooled IoU, painted and predicted pixels), new classes marked.
"""

from ffedit.adapter.augment import mix_appearance_ws, random_mixing_ws
from ffedit.adapter.config import TRAINING_PRESETS, AdapterTrainingConfig
from ffedit.adapter.errors import TooFewSamples
from ffedit.adapter.evaluation import LEARNED_IOU, ClassFit, class_iou_on_samples
from ffedit.adapter.losses import cross_entropy_loss, overlap_loss, segmentation_losses
from ffedit.adapter.network import ADAPTER_VARIANTS, GeometryAdapter
from ffedit.adapter.predict import predict_logits, predict_masks
from ffedit.adapter.training import (
    MIN_SAMPLES,
    AdapterFit,
    LayoutSample,
    fit_adapter,
)

__all__ = [
    "ADAPTER_VARIANTS",
    "LEARNED_IOU",
    "MIN_SAMPLES",
    "TRAINING_PRESETS",
    "AdapterFit",
    "AdapterTrainingConfig",
    "ClassFit",
    "GeometryAdapter",
    "LayoutSample",
    "TooFewSamples",
    "class_iou_on_samples",
    "cross_entropy_loss",
    "fit_adapter",
    "mix_appearance_ws",
    "overlap_loss",
    "predict_logits",
    "predict_masks",
    "random_mixing_ws",
    "segmentation_losses",
]
