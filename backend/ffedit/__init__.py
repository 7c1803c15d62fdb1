"""ffedit: few-shot 3D face editing in neural radiance fields (FFaceNeRF)."""

__version__ = "0.1.0"
