"""Blending the rendered face into the frame."""

from emodirector.blend.composite import composite_yuv420

__all__ = ["composite_yuv420"]
