"""Distilling synthface into a tri-plane generator: the shipped default model's training.

It sits above `generator` and `synthface` (it needs both), which the layering of
architecture.md keeps apart. `teacher` computes supervision from the exact synthface world
(renders at random cameras, labelled 3D points) for (shape, appearance) face pairs;
`train` fits a generator to it with ray and point losses and style mixing, so the
appearance ws layers learn appearance only.
"""
