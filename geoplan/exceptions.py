"""Exception types raised by geoplan.

Every error a user can provoke with bad input is an :class:`InputError` (a
``ValueError``) whose message names the layer or argument, the row and the rule.
"""
from __future__ import annotations

from dataclasses import dataclass


class GeoplanError(Exception):
    """Base class of all geoplan errors."""


class InputError(GeoplanError, ValueError):
    """Bad input: an argument, a file or a field that breaks a rule."""


@dataclass(frozen=True)
class Problem:
    """One validation failure: which layer, which row, which rule."""

    layer: str
    row: str
    rule: str

    def __str__(self) -> str:
        return f"{self.layer}[{self.row}]: {self.rule}"


class DatasetError(InputError):
    """A dataset breaks one or more schema rules.

    ``problems`` lists every failure; the message shows the first ones.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        head = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{len(self.problems)} problem(s) in dataset: {head}{more}")
