"""How hard the suite looks: `fast` for CI (deterministic), `thorough` for nightly runs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "Profile"]


@dataclass(frozen=True)
class Profile:
    max_examples: int
    """Per operation and phase, in the stateless run."""
    stateful_examples: int
    stateful_steps: int
    deterministic: bool


PROFILES = {
    "fast": Profile(max_examples=12, stateful_examples=12, stateful_steps=8, deterministic=True),
    "thorough": Profile(max_examples=150, stateful_examples=150, stateful_steps=20, deterministic=False),
}
