"""Adapters from the page's handler methods to the signatures Gradio inspects.

Gradio passes the browser tab's ``gr.Request`` to a parameter annotated with it and drives a
progress bar through a parameter whose default is ``gr.Progress()``. It reads the annotations
at run time, so this module evaluates them eagerly (no postponed annotations) and is only
imported once Gradio is.
"""

from collections.abc import Callable
from typing import Any

import gradio as gr

#: ``progress(fraction 0..1, message)`` as the handlers report it.
Progress = Callable[[float, str], None]


def _sink(bar: gr.Progress) -> Progress:
    def report(fraction: float, message: str) -> None:
        bar(min(max(float(fraction), 0.0), 1.0), desc=message)

    return report


def wrap(method: Callable[..., Any], inputs: bool, progress: bool) -> Callable[..., Any]:
    """A function Gradio can call for ``method``.

    Args:
        method: Called as ``method([data,] request[, progress])``.
        inputs: The event has inputs, given as a set, so they arrive as one dict keyed by
            component.
        progress: ``method`` reports progress.

    Returns:
        The function to register with the event.
    """
    if inputs and progress:

        def with_all(
            data: dict[Any, Any],
            request: gr.Request,
            bar: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio spots a progress bar)
        ) -> Any:
            return method(data, request, _sink(bar))

        return with_all
    if inputs:

        def with_data(data: dict[Any, Any], request: gr.Request) -> Any:
            return method(data, request)

        return with_data
    if progress:

        def with_bar(
            request: gr.Request,
            bar: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio spots a progress bar)
        ) -> Any:
            return method(request, _sink(bar))

        return with_bar

    def with_request(request: gr.Request) -> Any:
        return method(request)

    return with_request


__all__ = ["Progress", "wrap"]
