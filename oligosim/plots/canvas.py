"""Pyplot-free figures and atomic saving: the canvas every plot of :mod:`oligosim.plots` draws on.

Plot functions take already-computed data, compute as little as possible, and follow the
``plot_x(data, *, ax=None, ...) -> ax`` convention: they draw on ``ax`` when given and otherwise
on a new :class:`matplotlib.figure.Figure` that is *not* registered with pyplot (so nothing here
depends on, or changes, the user's backend; PNG output goes through Agg). This module never calls
``matplotlib.use`` or ``pyplot.show``; choosing a backend is the CLI's business.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from matplotlib.figure import Figure

__all__ = ["new_axes", "save_figure"]


def new_axes(figsize=(7.0, 5.0)):
    """A fresh Axes on a pyplot-free :class:`~matplotlib.figure.Figure`.

    Parameters
    ----------
    figsize : tuple of float, optional
        Figure size in inches (width, height).

    Returns
    -------
    matplotlib.axes.Axes
    """
    fig = Figure(figsize=figsize)
    return fig.add_subplot()


def save_figure(fig, path, **savefig_kwargs) -> Path:
    """Save a figure atomically.

    The image is written to a hidden temporary file in the destination directory, flushed to
    disk and then moved over ``path`` with :func:`os.replace`, so an interrupted run leaves
    either the old file or the complete new one -- never a half-written image -- and no
    temporary file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save (e.g. ``ax.figure``).
    path : str or os.PathLike
        Destination; the format comes from its suffix (default PNG if there is none).
    **savefig_kwargs
        Passed to :meth:`~matplotlib.figure.Figure.savefig`; defaults ``dpi=150`` and
        ``bbox_inches="tight"`` (which keeps the at-risk table drawn under the axes).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    fmt = savefig_kwargs.pop("format", None) or (path.suffix[1:].lower() or "png")
    savefig_kwargs.setdefault("dpi", 150)
    savefig_kwargs.setdefault("bbox_inches", "tight")
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # 0o666 filtered by the umask, like a normal open(); O_EXCL so we never clobber anything
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=fmt, **savefig_kwargs)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
