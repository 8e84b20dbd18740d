"""The renderer seam: what any renderer of the edited face provides, and the warp renderer.

A ``Renderer`` receives one decoded frame and one face's ``FaceFrame`` (where its landmarks
are, where the edit puts them, and the frame's weight of each mode of the edit) and returns the
edited face region (``RenderedFace``) for ``blend`` to composite; it never touches pixels outside
the face. The first renderer, ``WarpRenderer``, resamples the frame through the mesh warp and
then hands the result to its parts in order (``RenderPart``): the eyes redrawn, the expression
detail, the mouth interior from the actor's own frames, and last the frames of glasses put back
as they were (a part may also change the frame the warp resamples: ``adjust_source``);
a neural renderer is another ``Renderer``. A renderer (or a part) that needs the whole clip
before the first frame says so through two per-clip hooks: ``frame_observer`` (shown every frame
of the analysis pass) and ``prepare`` (given every frame's face and edit).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from emodirector.errors import InvalidOptionError
from emodirector.render.detail import ExpressionDetail, apply_detail, mix_detail
from emodirector.render.eyes import composite_eyes
from emodirector.render.glasses import GlassesKeeper, fill_frame, restore
from emodirector.render.texture import default_layout
from emodirector.render.warp import WarpField, warp_field, warp_yuv420
from emodirector.track.tracker import FaceTrack, FrameObserver
from emodirector.video.reader import VideoInfo

#: Y, U, V of the face region: Y at full and U, V at half resolution.
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
#: Called with a stage's name when that stage is done (collects time per stage).
Lap = Callable[[str], None]


@dataclass(frozen=True)
class RenderOptions:
    """What the warp renderer adds to the mesh warp.

    Attributes:
        detail: Apply the expression detail (ratio images: wrinkles and folds) of the edit.
        eyes: Re-composite the eyes so that the iris stays rigid and round, the sclera a widened
            lid shows is synthesised from the actor's own eye, and a narrowed lid covers the eye.
        detail_gain: Scale of the expression detail relative to the edit's weights.
        mouth: Where the edit opens the lips more than the actor did, fill the opening with a
            mouth interior (teeth, tongue) from the actor's own frames (``mouth.py``).
        glasses: Keep the frames of glasses rigid with the head: detected per clip, filled in
            from the skin around them in the frame the warp resamples, their original pixels
            put back last (``glasses.py``).
    """

    detail: bool = True
    eyes: bool = True
    detail_gain: float = 1.0
    mouth: bool = True
    glasses: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.detail_gain <= 3.0:
            raise InvalidOptionError("detail_gain must be within 0..3")


@dataclass(frozen=True)
class FaceFrame:
    """One face on one frame, as a renderer receives it.

    Attributes:
        index: The frame's index in the clip.
        source: ``(478, 3) float32`` tracked landmark pixels (x, y, depth) in the coded frame.
        target: ``(478, 3)`` where the edit puts them.
        modes: Names of the edit's modes (emotions or action units).
        weights: ``(K,) float32`` the frame's weight of each mode, fades included (what the
            detail of each mode is mixed by).
    """

    index: int
    source: np.ndarray
    target: np.ndarray
    modes: tuple[str, ...]
    weights: np.ndarray


@dataclass(frozen=True)
class ClipFaces:
    """One face through a whole clip, for a renderer that prepares per clip.

    Attributes:
        info: The probed video (a renderer may decode it again).
        track: The face's track (landmarks in pixels of the coded frame).
        face: ``face(index)``: the face and its edit on frame ``index``, None where it is not
            edited.
    """

    info: VideoInfo
    track: FaceTrack
    face: Callable[[int], FaceFrame | None]


@dataclass(frozen=True)
class RenderedFace:
    """The edited face region of one frame.

    Attributes:
        field: The warp that placed it: its ``roi`` locates ``planes``, its ``weight`` is the soft
            face mask ``blend`` composites with.
        planes: Y, U, V of ``field.roi`` (U, V at half resolution), ``uint8``.
    """

    field: WarpField
    planes: Planes


class Renderer(ABC):
    """Draws an edited face into the region of a frame."""

    #: Its name (for reports).
    name: ClassVar[str]

    @abstractmethod
    def render(
        self, frame: np.ndarray, face: FaceFrame, lap: Lap | None = None
    ) -> RenderedFace | None:
        """The edited face region of ``frame``, None where nothing can be drawn.

        Args:
            frame: ``(H * 3 // 2, W) uint8`` the decoded yuv420p frame (not modified).
            face: The face and its edit on this frame.
            lap: Told the name of each stage as it ends.
        """

    def frame_observer(self, info: VideoInfo) -> FrameObserver | None:
        """What wants to see every frame of ``info``'s analysis pass (called before it)."""
        return None

    def prepare(self, clips: Sequence[ClipFaces]) -> None:
        """Called once per edit, before the first frame, with every edited face of the clip."""
        return None

    def notes(self) -> tuple[str, ...]:
        """What the user should hear about the clip last prepared (e.g. that a part could only
        draw a stand-in), one sentence each."""
        return ()


class RenderPart(ABC):
    """One addition of the warp renderer after the warp (eyes, detail, ...)."""

    #: The stage name it is timed under.
    name: ClassVar[str]

    def frame_observer(self, info: VideoInfo) -> FrameObserver | None:
        """As ``Renderer.frame_observer``."""
        return None

    def prepare(self, clips: Sequence[ClipFaces]) -> None:
        """As ``Renderer.prepare``."""
        return None

    def notes(self) -> tuple[str, ...]:
        """As ``Renderer.notes``."""
        return ()

    def needs_texture(self, face: FaceFrame) -> bool:
        """Whether it reads the warp's texture coordinates on this frame."""
        return False

    def adjust_source(
        self, frame: np.ndarray, source: np.ndarray, field: WarpField, face: FaceFrame
    ) -> np.ndarray:
        """The yuv420p frame the warp should resample, as this part needs it: ``source`` (what
        the parts before it made of the original ``frame``) itself if it needs nothing changed,
        else a changed copy (neither is changed in place: ``apply`` is given the original)."""
        return source

    def active(self, face: FaceFrame) -> bool:
        """Whether it changes anything on this frame."""
        return True

    @abstractmethod
    def apply(self, frame: np.ndarray, field: WarpField, planes: Planes, face: FaceFrame) -> Planes:
        """The face region with this part added (``planes`` itself if nothing changes)."""


class EyesPart(RenderPart):
    """The eyes redrawn: a rigid eyeball behind the moving lids (``eyes.composite_eyes``)."""

    name = "eyes"

    def apply(self, frame: np.ndarray, field: WarpField, planes: Planes, face: FaceFrame) -> Planes:
        return composite_eyes(frame, field, planes, face.source, face.target)


class DetailPart(RenderPart):
    """The expression detail of the frame's edit multiplied onto the luminance (``detail.py``).

    Args:
        detail: The ratio images; the packaged ones by default (read when first needed).
        gain: Scale of the detail relative to the edit's weights.
    """

    name = "detail"

    def __init__(self, detail: ExpressionDetail | None = None, gain: float = 1.0) -> None:
        self._detail = detail
        self.gain = gain

    @property
    def detail(self) -> ExpressionDetail:
        if self._detail is None:
            self._detail = ExpressionDetail.load_default()
        return self._detail

    def _weights(self, face: FaceFrame) -> np.ndarray:
        # detail is only added: a negative weight (the actor's own emotion taken away) would
        # divide out wrinkles the actor may not have there, and left light blotches where the
        # prototype's lines are (the forehead and cheeks of GRID's woman in a neutral edit)
        return np.maximum(face.weights * self.gain, 0.0)

    def needs_texture(self, face: FaceFrame) -> bool:
        return self.active(face)

    def active(self, face: FaceFrame) -> bool:
        return bool(np.any(self._weights(face)))

    def apply(self, frame: np.ndarray, field: WarpField, planes: Planes, face: FaceFrame) -> Planes:
        y, u, v = planes
        maps = self.detail.for_modes(face.modes)
        return apply_detail(y, field, mix_detail(maps, self._weights(face))), u, v


class GlassesPart(RenderPart):
    """Glasses frames kept rigid with the head (``glasses.py``): filled in from the skin around
    them in the frame the warp resamples, their original pixels put back over everything the
    other parts drew; placed last.

    It decides once per clip from the first frames it sees whether the face wears glasses, and
    is inactive for the rest of a clip without them.
    """

    name = "glasses"

    def __init__(self) -> None:
        self.keeper = GlassesKeeper()

    def prepare(self, clips: Sequence[ClipFaces]) -> None:
        self.keeper.reset()

    def active(self, face: FaceFrame) -> bool:
        return self.keeper.active(face.index)

    def adjust_source(
        self, frame: np.ndarray, source: np.ndarray, field: WarpField, face: FaceFrame
    ) -> np.ndarray:
        # the glasses are found on the original frame, filled in on the source
        mask = self.keeper.mask(face.index, frame, face.source, field.roi)
        return source if mask is None else fill_frame(source, mask)

    def apply(self, frame: np.ndarray, field: WarpField, planes: Planes, face: FaceFrame) -> Planes:
        mask = self.keeper.mask(face.index, frame, face.source, field.roi)
        return planes if mask is None else restore(frame, field.roi, planes, mask)


class WarpRenderer(Renderer):
    """The mesh-guided warp of the frame itself, then its parts in order.

    Args:
        parts: What is added after the warp, in order (``from_options`` builds the usual ones).
    """

    name = "warp"

    def __init__(self, parts: Sequence[RenderPart] = ()) -> None:
        self.parts = tuple(parts)

    @classmethod
    def from_options(
        cls, options: RenderOptions | None = None, detail: ExpressionDetail | None = None
    ) -> WarpRenderer:
        """The warp with the eyes, the detail and the mouth ``options`` switch on.

        Args:
            options: What to add (all of it by default).
            detail: Expression detail (the packaged one by default).
        """
        options = options or RenderOptions()
        parts: list[RenderPart] = []
        if options.eyes:
            parts.append(EyesPart())
        if options.detail:
            parts.append(DetailPart(detail, options.detail_gain))
        if options.mouth:
            from emodirector.render.mouth import MouthPart  # it builds on RenderPart

            parts.append(MouthPart())
        if options.glasses:
            parts.append(GlassesPart())
        return cls(parts)

    def frame_observer(self, info: VideoInfo) -> FrameObserver | None:
        observers = [o for o in (p.frame_observer(info) for p in self.parts) if o is not None]
        if len(observers) <= 1:
            return observers[0] if observers else None

        def observe_all(index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None:
            for observe in observers:
                observe(index, rgb, faces)

        return observe_all

    def prepare(self, clips: Sequence[ClipFaces]) -> None:
        for part in self.parts:
            part.prepare(clips)

    def notes(self) -> tuple[str, ...]:
        return tuple(note for part in self.parts for note in part.notes())

    def render(
        self, frame: np.ndarray, face: FaceFrame, lap: Lap | None = None
    ) -> RenderedFace | None:
        texture = any(p.needs_texture(face) for p in self.parts)
        # the frame's own size: an odd-sized video is decoded padded to even (VideoInfo.padded_size)
        field = warp_field(
            face.source,
            face.target,
            (frame.shape[1], frame.shape[0] * 2 // 3),
            texture_vertices=default_layout().vertices if texture else None,
        )
        if field is None:
            return None
        parts = [p for p in self.parts if p.active(face)]
        if lap is not None:
            lap("render")
        source = frame
        for part in parts:
            adjusted = part.adjust_source(frame, source, field, face)
            if adjusted is not source:
                source = adjusted
                if lap is not None:
                    lap(part.name)
        planes = warp_yuv420(source, field)
        if lap is not None:
            lap("render")
        for part in parts:
            planes = part.apply(frame, field, planes, face)
            if lap is not None:
                lap(part.name)
        return RenderedFace(field, planes)


__all__ = [
    "ClipFaces",
    "DetailPart",
    "EyesPart",
    "FaceFrame",
    "GlassesPart",
    "Lap",
    "Planes",
    "RenderOptions",
    "RenderPart",
    "RenderedFace",
    "Renderer",
    "WarpRenderer",
]
