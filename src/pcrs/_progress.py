"""Progress bars on a terminal, silence in pipes, CI and tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress", "progress_enabled", "set_quiet"]

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Turn progress bars off (``-q``) or back on."""
    global _QUIET
    _QUIET = bool(quiet)


def progress_enabled() -> bool:
    """Bars are shown only on an interactive stderr, outside CI and unless quiet."""
    return not _QUIET and sys.stderr.isatty() and not os.environ.get("CI")


def progress(items: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate over ``items``, with a rich progress bar when :func:`progress_enabled`."""
    if not progress_enabled():
        yield from items
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
