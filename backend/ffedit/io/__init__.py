"""All disk access: images, our checkpoint folders, and EG3D/NeRFFaceEditing/FFaceNeRF imports.

- `files`: `atomic_write_bytes`, `atomic_folder` (temporary sibling, then rename).
- `images`: `save_png`, `load_png` (PNG checked by content), `png_bytes`.
- `checkpoint`: `save_generator`, `load_generator` (our folder, a `.pkl` or a `.pth`),
  `import_checkpoint`.
- `eg3d`: `read_foreign_generator`, `read_ffacenerf_adapter`, config recovery.
- `restricted_pickle`, `module_records`: the allow-list unpickler and the module-tree walk.
- `errors`: `CheckpointError` and its subclasses.

Submodules are imported explicitly (`from ffedit.io.checkpoint import load_generator`) so
that reading a PNG does not load the generator.
"""
