"""All disk access: images, our checkpoint folders, and EG3D/NeRFFaceEditing/FFaceNeRF imports.

Writes are atomic (temporary file or folder, then rename). Foreign pickles are read with a
restricted unpickler that never runs code stored in them.
"""
