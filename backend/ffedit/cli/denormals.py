"""Denormal floats flushed to zero in every torch CPU thread.

Behind a surface a ray's transmittance exp(−Σσδ), the compositing weights and the gradients
through them fall below float32's normal range (1.2·10⁻³⁸). Some x86 CPUs take a slow
micro-coded path for every operation on such a denormal: on the Intel Xeon (Emerald Rapids)
host of session 16, a fast-preset adapter training step took 47 ms with denormals and 18 ms
flushed, a distillation step of the shipped preset 0.89 s and 0.71 s (`runs/profile_*.py`,
diagnostics kept out of git); AMD EPYC hosts showed no such gap. Flushing (FTZ/DAZ) changes
only values below 1.2·10⁻³⁸, which rendering, training and editing never resolve.

The setting lives in each thread's MXCSR register and a new thread copies its creator's, so
it must be made before torch starts its intra-op thread pool (its first parallel operation):
the `ffedit` command (`ffedit.cli.run`) does it before any subcommand runs, as it tunes the
allocator.
"""

from __future__ import annotations


def flush_denormals() -> bool:
    """Flush denormals to zero in this thread and the threads it creates from now on; False
    where the CPU cannot (torch's `set_flush_denormal`)."""
    import torch

    return bool(torch.set_flush_denormal(True))
