"""All disk access: images, our checkpoint folders, and EG3D/NeRFFaceEditing/FFaceNeRF imports.

- `files`: `atomic_write_bytes`, `atomic_folder` (temporary sibling, then rename).
- `images`: `save_png`, `load_png` (PNG checked by content), `png_bytes`.
- `manifest`: checkpoint folders whose files are listed (sha256, size) and verified.
- `checkpoint`: `save_generator`, `load_generator` (our folder, a `.pkl` or a `.pth`),
  `import_checkpoint`.
- `adapters`: `save_adapter`, `load_adapter` (geometry adapter + layout + training record),
  `load_ffacenerf_adapter`, `read_layout_samples` (annotated samples of a dataset folder).
- `eg3d`: `read_foreign_generator`, `read_ffacenerf_adapter`, config recovery.
- `restricted_pickle`, `module_records`: the allow-list unpickler and the module-tree walk.
- `errors`: `CheckpointError` and its subclasses.

`from ffedit.io import load_generator` works too: the checkpoint functions are exported
lazily, so that reading a PNG does not load the generator.
"""

_CHECKPOINT_EXPORTS = ("import_checkpoint", "load_generator", "save_generator")


def __getattr__(name: str):
    if name in _CHECKPOINT_EXPORTS:
        from ffedit.io import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'ffedit.io' has no attribute {name!r}")
