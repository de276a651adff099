"""Disclosure control for tier B: primary and secondary suppression, audited by linear programming.

A table's cells are tied to the cells of the tables it adds up to (its margins: the same counts at
a coarser area level, a coarser period, or without one of its dimensions). Those margins are
released tables too, protected first; here they are equations: each margin cell equals the sum of
its cells in this table. Given every published value, the audit asks HiGHS for the lowest and
highest value each suppressed cell can take (this table's, and the margins' suppressed cells seen
through this table); a cell whose range is narrower than the threshold is exposed, and one more
published cell in one of its equations is suppressed, until none is. A table for which no such
cell is left is refused.

Pure: counts in, suppression pattern out; insights.tables feeds it from the rollup.
"""

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

Key = Hashable
# HiGHS answers in floating point; ranges are whole counts.
TOLERANCE = 1e-6
MAX_ROUNDS = 500


@dataclass
class Margin:
    """One margin table as this table sees it: its published values (None when suppressed) and
    which of its cells each of this table's cells adds to."""

    name: str
    published: dict[Key, int | None]
    parent_of: dict[Key, Key]


@dataclass
class Audit:
    suppressed: set[Key]
    secondary: set[Key] = field(default_factory=set)
    refused: bool = False
    rounds: int = 0
    programs: int = 0


@dataclass(frozen=True)
class _Equation:
    child_keys: tuple[Key, ...]
    parent: tuple[str, Key]  # (margin name, margin cell key)


def _equations(cells: dict[Key, int], margins: list[Margin]) -> list[_Equation]:
    equations = []
    for margin in margins:
        children: dict[Key, list[Key]] = defaultdict(list)
        for key in cells:
            children[margin.parent_of[key]].append(key)
        for parent_key, child_keys in children.items():
            equations.append(_Equation(tuple(child_keys), (margin.name, parent_key)))
    return equations


def _ranges(
    cells: dict[Key, int],
    published_margins: dict[tuple[str, Key], int | None],
    equations: list[_Equation],
    suppressed: set[Key],
    audit: Audit,
) -> tuple[dict[object, float], dict[object, list[int]]]:
    """The width of the feasible range of every unknown, and the equations each unknown is in."""
    unknowns: dict[object, int] = {}
    rows: list[tuple[dict[int, float], float]] = []
    membership: dict[object, list[int]] = defaultdict(list)
    for index, equation in enumerate(equations):
        coefficients: dict[int, float] = {}
        constant = 0.0
        parent_value = published_margins.get(equation.parent)
        for key in equation.child_keys:
            if key in suppressed:
                column = unknowns.setdefault(("cell", key), len(unknowns))
                coefficients[column] = 1.0
                membership[("cell", key)].append(index)
            else:
                constant += cells[key]
        if parent_value is None:
            column = unknowns.setdefault(("margin", equation.parent), len(unknowns))
            coefficients[column] = -1.0
            membership[("margin", equation.parent)].append(index)
            rhs = -constant
        else:
            rhs = parent_value - constant
        if coefficients:
            rows.append((coefficients, rhs))
    widths = {}
    for component in _components(len(unknowns), rows):
        widths.update(_component_widths(component, unknowns, rows, audit))
    # Suppressed cells in no equation are bounded by nothing.
    for key in suppressed:
        widths.setdefault(("cell", key), float("inf"))
    return widths, membership


def _components(size: int, rows: list[tuple[dict[int, float], float]]) -> list[list[int]]:
    """Rows grouped by the unknowns they share: each group is an independent program."""
    parent = list(range(size))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for coefficients, _ in rows:
        columns = list(coefficients)
        for column in columns[1:]:
            parent[find(column)] = find(columns[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for index, (coefficients, _) in enumerate(rows):
        groups[find(next(iter(coefficients)))].append(index)
    return list(groups.values())


def _component_widths(row_ids, unknowns, rows, audit: Audit) -> dict[object, float]:
    columns = sorted({column for index in row_ids for column in rows[index][0]})
    local = {column: position for position, column in enumerate(columns)}
    names = {column: name for name, column in unknowns.items() if column in local}
    # An equation with a single unknown gives its value away: no program needed.
    exposed = {columns_[0] for columns_ in (list(rows[i][0]) for i in row_ids) if len(columns_) == 1}
    data, indices, pointers, rhs = [], [], [0], []
    for index in row_ids:
        coefficients, value = rows[index]
        for column, coefficient in coefficients.items():
            data.append(coefficient)
            indices.append(local[column])
        pointers.append(len(data))
        rhs.append(value)
    matrix = csr_matrix((data, indices, pointers), shape=(len(row_ids), len(columns)))
    widths = {names[column]: 0.0 for column in exposed}
    for column in columns:
        if column in exposed:
            continue
        objective = np.zeros(len(columns))
        objective[local[column]] = 1.0
        low = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
        audit.programs += 2
        if low.status != 0:
            # Infeasible means the published figures disagree with the counts: never release.
            raise ValueError(f"disclosure audit: inconsistent table ({low.message})")
        top = float("inf") if high.status == 3 else -high.fun
        widths[names[column]] = top - low.fun
    return widths


def _candidate(name, membership, equations, cells, suppressed, published) -> Key | None:
    """The smallest published positive cell sharing an equation with an exposed unknown; failing
    that, one sharing an equation with an unknown that does (and so on, a few steps out)."""
    frontier, seen = {name}, {name}
    for _step in range(6):
        best, reached = None, set()
        for unknown in frontier:
            for index in membership.get(unknown, ()):
                equation = equations[index]
                if published.get(equation.parent, 0) is None:
                    reached.add(("margin", equation.parent))
                for key in equation.child_keys:
                    if key in suppressed:
                        reached.add(("cell", key))
                    elif cells[key] > 0 and (best is None or (cells[key], repr(key)) < (cells[best], repr(best))):
                        best = key
        if best is not None:
            return best
        frontier = reached - seen
        seen |= frontier
        if not frontier:
            return None
    return None


def _raw(name, cells, equations, membership) -> int:
    """The true count behind an unknown: a cell's own, or the sum of a margin cell's cells here."""
    kind, key = name
    if kind == "cell":
        return cells[key]
    equation = equations[membership[name][0]]
    return sum(cells[child] for child in equation.child_keys)


def protect(*, cells: dict[Key, int], margins: list[Margin], threshold: int) -> Audit:
    """Suppress every count from 1 to threshold-1, then as many more as the audit needs.

    `cells` holds the table's non-zero counts (absent cells are published zeros).
    """
    suppressed = {key for key, value in cells.items() if 0 < value < threshold}
    audit = Audit(suppressed=set(suppressed))
    equations = _equations(cells, margins)
    published = {(margin.name, key): value for margin in margins for key, value in margin.published.items()}
    for audit.rounds in range(1, MAX_ROUNDS + 1):
        widths, membership = _ranges(cells, published, equations, suppressed, audit)
        exposed = sorted((name for name, width in widths.items() if width < threshold - TOLERANCE), key=repr)
        if not exposed:
            break
        # One more cell per exposed unknown, then audit again: the new cells may expose others.
        chosen = {_candidate(name, membership, equations, cells, suppressed, published) for name in exposed} - {None}
        suppressed |= chosen
        audit.secondary |= chosen
        if not chosen:
            # Nothing left to withhold. A count of the threshold or more that stays derivable was
            # withheld only to shield others and discloses nothing small; a small one refuses the table.
            audit.refused = any(_raw(name, cells, equations, membership) < threshold for name in exposed)
            break
    else:
        audit.refused = True
    audit.suppressed = suppressed
    return audit
