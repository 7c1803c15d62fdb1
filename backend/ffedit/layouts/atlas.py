"""The fine-label atlas: synthface's part ids, from which every layout's classes are built.

Each id names one anatomical or accessory part of the synthface world. The ids are fixed
(stored masks and datasets depend on them); layouts refer to parts by name. The atlas lives
here rather than in `ffedit.synthface` because layouts are data about labels and must not
depend on the face model.
"""

from __future__ import annotations

FINE_LABELS: tuple[str, ...] = (
    "background",
    "skin_face",
    "skin_jaw",
    "skin_chin",
    "neck",
    "ear",
    "hair",
    "hat",
    "brow",
    "sclera",
    "iris",
    "pupil",
    "eyelid",
    "nose_ridge",
    "nose_tip",
    "nasal_ala",
    "nostril",
    "upper_lip",
    "lower_lip",
    "mouth_inner",
    "teeth",
    "cloth",
    "glasses",
    "earring",
    "necklace",
)
"""Fine label names; a name's index is its id."""

FINE_LABEL_IDS: dict[str, int] = {name: index for index, name in enumerate(FINE_LABELS)}
"""Fine label name → id."""
