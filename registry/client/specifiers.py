"""Version specifiers for layers: pip's syntax (`==3`, `>=2,<5`, `!=4`) over integer versions."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_CLAUSE = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*([0-9]+)\s*")


@dataclass(frozen=True)
class Clause:
    op: str
    version: int

    def __str__(self) -> str:
        return f"{self.op}{self.version}"


@dataclass(frozen=True)
class SpecifierSet:
    clauses: tuple[Clause, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SpecifierSet:
        """Parse `>=2,<5`; raise ValueError with the offending clause."""
        text = text.strip()
        if not text:
            return cls()
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.fullmatch(part)
            if not match:
                raise ValueError(
                    f"bad version specifier {part.strip()!r}: layer versions are integers, "
                    "use ==N, !=N, >=N, <=N, >N or <N separated by commas"
                )
            clauses.append(Clause(match.group(1), int(match.group(2))))
        return cls(tuple(clauses))

    def contains(self, version: int) -> bool:
        return all(_OPERATORS[c.op](version, c.version) for c in self.clauses)

    @property
    def pinned(self) -> int | None:
        """The exact version when the set is a single `==N`, as --require-hashes needs."""
        if len(self.clauses) == 1 and self.clauses[0].op == "==":
            return self.clauses[0].version
        return None

    def __str__(self) -> str:
        return ",".join(str(c) for c in self.clauses)

    def __bool__(self) -> bool:
        return bool(self.clauses)


ANY_VERSION = SpecifierSet()  # no clauses: every version
