"""Rendering of the edited face behind the ``Renderer`` seam. The first renderer,
``WarpRenderer``: a mesh-guided dense warp of the original frame, then its parts: the eyes
redrawn with a rigid eyeball behind moving lids, the expression detail the warp cannot make
(ratio images: wrinkles and folds), and the frames of glasses kept rigid."""

from emodirector.render.detail import ExpressionDetail, apply_detail, mix_detail
from emodirector.render.eyes import composite_eyes
from emodirector.render.renderer import (
    DetailPart,
    EyesPart,
    FaceFrame,
    GlassesPart,
    RenderedFace,
    Renderer,
    RenderOptions,
    RenderPart,
    WarpRenderer,
)
from emodirector.render.texture import TEXTURE_SIZE, TextureLayout, default_layout, unwrap
from emodirector.render.warp import WarpField, anchor_ring, warp_field, warp_yuv420

__all__ = [
    "TEXTURE_SIZE",
    "DetailPart",
    "EyesPart",
    "FaceFrame",
    "GlassesPart",
    "RenderOptions",
    "RenderPart",
    "RenderedFace",
    "Renderer",
    "WarpRenderer",
    "ExpressionDetail",
    "TextureLayout",
    "WarpField",
    "anchor_ring",
    "apply_detail",
    "composite_eyes",
    "default_layout",
    "mix_detail",
    "unwrap",
    "warp_field",
    "warp_yuv420",
]
