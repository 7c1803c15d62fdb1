"""MTCNN (Zhang et al. 2016): a face detector giving boxes and five landmarks per face.

Three small networks in a cascade: P-Net scans an image pyramid for 12-pixel face windows,
R-Net re-scores and refines 24-pixel crops of the survivors, O-Net re-scores 48-pixel crops
and regresses the box and five landmarks (eye centres, nose tip, mouth corners). Windows are
merged by non-maximum suppression after every stage. The networks' layer shapes and names
follow the weights that `facenet-pytorch` ships (converted from the authors' release; the
fully connected layers read their input in (W, H, C) order, as those weights expect);
`ffedit.io.detector` loads them. Pixel values are scaled as (v − 127.5) / 128.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

PYRAMID_FACTOR = 0.709
"""Scale step of the image pyramid (the authors' value)."""
STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
"""Face probability each stage requires."""


class PNet(nn.Module):
    """Proposal network: fully convolutional, 12×12 windows with stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 3, H, W) → box offsets (B, 4, h, w), face probability (B, h, w)."""
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 2, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.conv4_1(x).softmax(1)[:, 1]


class RNet(nn.Module):
    """Refinement network on 24×24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Crops (N, 3, 24, 24) → box offsets (N, 4), face probability (N,)."""
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1).reshape(len(x), -1)
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), self.dense5_1(x).softmax(1)[:, 1]


class ONet(nn.Module):
    """Output network on 48×48 crops: box offsets, five landmarks, face probability."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2 = nn.Linear(256, 2), nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Crops (N, 3, 48, 48) → offsets (N, 4), landmarks (N, 10: 5 x then 5 y, relative
        to the crop), face probability (N,)."""
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu3(self.conv3(x)), 2, 2, ceil_mode=True)
        x = self.prelu4(self.conv4(x)).permute(0, 3, 2, 1).reshape(len(x), -1)
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_3(x), self.dense6_1(x).softmax(1)[:, 1]


class Mtcnn(nn.Module):
    """The three networks; `detect_faces(mtcnn, image)` runs the cascade."""

    def __init__(self) -> None:
        super().__init__()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        self.requires_grad_(False)


class Detections(NamedTuple):
    """Faces found in one image, most probable first."""

    boxes: torch.Tensor
    """(N, 4) x0, y0, x1, y1 in pixels."""
    landmarks: torch.Tensor
    """(N, 5, 2) x, y of: left eye, right eye (as seen in the image), nose, mouth corners."""
    scores: torch.Tensor
    """(N,) face probability of the last stage."""


def box_overlaps(box: torch.Tensor, boxes: torch.Tensor, by_min: bool = False) -> torch.Tensor:
    """(N,) overlap of one box (4,) with boxes (N, 4): IoU, or over the smaller area."""
    width = (torch.minimum(box[2], boxes[:, 2]) - torch.maximum(box[0], boxes[:, 0])).clamp(min=0)
    height = (torch.minimum(box[3], boxes[:, 3]) - torch.maximum(box[1], boxes[:, 1])).clamp(min=0)
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    if by_min:
        return inter / torch.minimum(area, areas).clamp(min=1e-9)
    return inter / (area + areas - inter).clamp(min=1e-9)


def suppress(boxes: torch.Tensor, scores: torch.Tensor, overlap: float, by_min=False):
    """Indices (K,) kept by greedy non-maximum suppression, best score first."""
    order = scores.argsort(descending=True)
    keep = []
    while len(order):
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        order = rest[box_overlaps(boxes[best], boxes[rest], by_min) <= overlap]
    return torch.tensor(keep, dtype=torch.long)


def squared(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes (N, 4) made square around their centres (side: the longer one)."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).max(1).values[:, None] / 2
    return torch.cat([centres - half, centres + half], 1)


def refined(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Boxes (N, 4) moved by the networks' offsets (N, 4), relative to the box size."""
    size = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    return boxes + offsets * size


def crops(image: torch.Tensor, boxes: torch.Tensor, side: int) -> torch.Tensor:
    """(N, 3, side, side) crops of image (3, H, W) at integer boxes, zero outside it."""
    out = []
    _, height, width = image.shape
    for x0, y0, x1, y1 in boxes.round().long().tolist():
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        patch = image.new_zeros(3, y1 - y0, x1 - x0)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if sx1 > sx0 and sy1 > sy0:
            patch[:, sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[:, sy0:sy1, sx0:sx1]
        out.append(F.interpolate(patch[None], size=(side, side), mode="area"))
    return torch.cat(out) if out else image.new_zeros(0, 3, side, side)


def _proposals(mtcnn: Mtcnn, image: torch.Tensor, min_face: float) -> torch.Tensor:
    """(N, 5) boxes and scores P-Net finds over the pyramid of image (3, H, W)."""
    _, height, width = image.shape
    scale = 12.0 / min_face
    found = []
    while min(height, width) * scale >= 12:
        size = (int(height * scale + 1), int(width * scale + 1))
        offsets, probability = mtcnn.pnet(F.interpolate(image[None], size=size, mode="area"))
        ys, xs = torch.nonzero(probability[0] >= STAGE_THRESHOLDS[0], as_tuple=True)
        if len(ys):
            cells = torch.stack([xs, ys], 1).float()
            boxes = torch.cat([(2 * cells + 1) / scale, (2 * cells + 12) / scale], 1).floor()
            scores = probability[0, ys, xs]
            boxes = refined(boxes, offsets[0][:, ys, xs].T)
            keep = suppress(boxes, scores, 0.5)
            found.append(torch.cat([boxes[keep], scores[keep, None]], 1))
        scale *= PYRAMID_FACTOR
    if not found:
        return image.new_zeros(0, 5)
    found = torch.cat(found)
    return found[suppress(found[:, :4], found[:, 4], 0.7)]


@torch.inference_mode()
def detect_faces(mtcnn: Mtcnn, image: torch.Tensor, min_face: float = 20.0) -> Detections:
    """Faces of at least `min_face` pixels in image (3, H, W) with values in [0, 255]."""
    image = (image.float() - 127.5) / 128.0
    proposals = _proposals(mtcnn, image, min_face)
    empty = Detections(image.new_zeros(0, 4), image.new_zeros(0, 5, 2), image.new_zeros(0))
    if not len(proposals):
        return empty
    boxes = squared(proposals[:, :4])
    offsets, scores = mtcnn.rnet(crops(image, boxes, 24))
    passed = scores > STAGE_THRESHOLDS[1]
    boxes, offsets, scores = boxes[passed], offsets[passed], scores[passed]
    if not len(boxes):
        return empty
    keep = suppress(boxes, scores, 0.7)
    boxes = squared(refined(boxes[keep], offsets[keep]))
    offsets, points, scores = mtcnn.onet(crops(image, boxes, 48))
    passed = scores > STAGE_THRESHOLDS[2]
    boxes, offsets, points, scores = boxes[passed], offsets[passed], points[passed], scores[passed]
    if not len(boxes):
        return empty
    size = boxes[:, 2:] - boxes[:, :2]
    landmarks = torch.stack([points[:, :5], points[:, 5:]], -1) * size[:, None] + boxes[:, None, :2]
    boxes = refined(boxes, offsets)
    keep = suppress(boxes, scores, 0.7, by_min=True)
    return Detections(boxes[keep], landmarks[keep], scores[keep])
