"""Each module's `__all__` is sorted (constants, classes, functions) and names all its public definitions."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import mockvps


def _is_module(name: str) -> bool:
    last = name.rpartition(".")[2]  # the contract suite's test files and conftest are pytest's, not a surface
    return last != "__main__" and last != "conftest" and not last.startswith("test_")


MODULES = sorted(m.name for m in pkgutil.walk_packages(mockvps.__path__, "mockvps.") if _is_module(m.name))


def isort_style(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=isort_style)
    assert all(hasattr(module, n) for n in exported)
    defined_here = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_")
        and "[" not in n
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    routers = [getattr(module, r) for r in ("router", "health_router") if hasattr(module, r)]
    endpoints = {route.endpoint.__name__ for router in routers for route in router.routes}
    endpoints |= {op.handler.__name__ for op in getattr(module, "OPERATIONS", ())}
    defined_here -= endpoints  # route handlers are reached through the router or the operation table
    assert defined_here <= set(exported), defined_here - set(exported)
