"""The compiled (numba) form of :mod:`pcrs.vector._geom_spec`, for :mod:`pcrs.vector.fastread`.

The functions of :mod:`pcrs.vector._geom_spec` are compiled as they are written there: each
is copied with a namespace of its own in which the functions it calls are the compiled
ones, so the module itself stays plain Python (the lxml reader calls it without numba) and
there is one text of each. Compiled results are cached beside ``_geom_spec.py``.

:func:`prepare` reads the attributes and numbers of the element records of a window of the
file's bytes, then :func:`geometries` reads the common clean geometries among them (what
:func:`pcrs.vector.gml.read_geometry` reads from an lxml element, the same way).
"""

from __future__ import annotations

import types

from numba import njit

from . import _geom_spec

__all__ = ["geometries", "prepare"]


def _compile(module) -> dict:
    """The functions ``module.KERNELS`` lists, compiled (by name), calling one another."""
    space = dict(vars(module))
    for name, inline in module.KERNELS.items():
        fn = getattr(module, name)
        copy = types.FunctionType(fn.__code__, space, fn.__name__, fn.__defaults__)
        copy.__qualname__ = fn.__qualname__
        copy.__module__ = fn.__module__
        copy.__doc__ = fn.__doc__
        space[name] = njit(cache=True, inline="always" if inline else "never")(copy)
    return {name: space[name] for name in module.KERNELS}


_KERNELS = _compile(_geom_spec)
prepare = _KERNELS["prepare"]
geometries = _KERNELS["geometries"]
arc_into = _KERNELS["arc_into"]
parse_numbers = _KERNELS["parse_numbers"]
_attr = _KERNELS["_attr"]  # (the feature reader finds gml:id and xlink:href with it)
