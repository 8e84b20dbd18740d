"""Rendering of the edited face: a mesh-guided dense warp of the original frame."""

from emodirector.render.warp import WarpField, anchor_ring, warp_field, warp_yuv420

__all__ = ["WarpField", "anchor_ring", "warp_field", "warp_yuv420"]
