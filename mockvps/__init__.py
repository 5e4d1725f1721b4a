"""mockvps: a local, stateful mock of the VPS.org Servers API."""

__version__ = "0.1.0"
__all__ = ["__version__"]
