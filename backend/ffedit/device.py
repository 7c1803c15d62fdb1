"""The one rule for choosing a torch device from a setting: 'auto' is cuda when available,
else cpu; any other name is read by torch ('cpu', 'cuda', 'cuda:1'). Resolved once, by the
CLI or the Engine, then passed in."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """'auto' → cuda if available, else cpu; any other name is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
