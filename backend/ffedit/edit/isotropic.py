"""`IsotropicAdam`: Adam with one second moment for the whole tensor instead of one per entry.

Adam divides each entry's gradient by its own running RMS, so its first steps move every
entry of the W+ offset by about the learning rate whatever that entry's share of the
gradient: the offset spreads over all 14 × 256 entries (steepest descent in the max-norm).
With one RMS for the whole tensor the step keeps the gradient's direction (steepest descent
in the Euclidean norm, the smallest latent change per unit of loss) and Adam's step size
(entries move by the learning rate in RMS) and momentum.
"""

from __future__ import annotations

import torch


class IsotropicAdam(torch.optim.Optimizer):
    """Adam (betas, bias correction, eps) with the second moment a mean over all entries."""

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                state = self.state[parameter]
                if not state:
                    state["step"] = 0
                    state["first"] = torch.zeros_like(parameter)
                    state["second"] = parameter.new_zeros(())
                state["step"] += 1
                gradient = parameter.grad
                state["first"].lerp_(gradient, 1 - beta1)
                state["second"].lerp_(gradient.square().mean(), 1 - beta2)
                first = state["first"] / (1 - beta1 ** state["step"])
                second = state["second"] / (1 - beta2 ** state["step"])
                parameter.sub_(group["lr"] * first / (second.sqrt() + group["eps"]))
        return None
