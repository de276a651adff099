"""Disclosure control for tier B: primary and secondary suppression, audited by linear programming.

A table's cells add up to the cells of its margin tables (the same counts at a coarser area level,
a coarser period, or without one of its dimensions), those to theirs, and so on. Margin tables are
released first. Auditing a table means writing every one of those sums, for the table and all the
tables above it, as an equation; the published values are constants and the withheld cells
unknowns. HiGHS (the solver behind scipy's linprog, driven directly so that one model per group of
linked equations is re-solved warm for each count) then gives, for each withheld count below the
threshold (this table's and any margin's), its lowest and highest possible value given everything
published. A range narrower than the threshold exposes the count: one more published cell of this
table sharing an equation with it (or, failing that, a few equations further out) is withheld, and
the audit runs again. A table in which a small count stays exposed is refused.

Withheld counts at or above the threshold (withheld only to shield small ones) need no range of
their own: they disclose nothing small, and every small count they could lead to is checked.

Pure: counts in, suppression pattern out; insights.tables feeds it from the rollup.
"""

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import highspy
import numpy as np

Key = Hashable
Unknown = tuple[str, Key]  # (table name, cell key)
# HiGHS answers in floating point; ranges are whole counts.
TOLERANCE = 1e-6
MAX_ROUNDS = 200


@dataclass
class Table:
    """One table of the system: its non-zero raw counts and, for a table already released, what
    was published (None where withheld). The table being protected has published=None."""

    name: str
    cells: dict[Key, int]
    published: dict[Key, int | None] | None = None
    # A refused table published nothing: its cells are unknowns that need no range of their own.
    protected: bool = True


@dataclass
class Relation:
    """The child table's cells add up to the parent table's: `parent_of` maps each child cell."""

    child: str
    parent: str
    parent_of: dict[Key, Key]


@dataclass
class Margin:
    """A margin table seen only from this one (for small, one-step systems and tests)."""

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
    children: tuple[Unknown, ...]
    parent: Unknown


class _System:
    def __init__(self, open_name: str, tables: dict[str, Table], relations: list[Relation]) -> None:
        self.open_name = open_name
        self.tables = tables
        self.equations: list[_Equation] = []
        for relation in relations:
            grouped: dict[Key, list[Unknown]] = defaultdict(list)
            for key in tables[relation.child].cells:
                grouped[relation.parent_of[key]].append((relation.child, key))
            for parent_key, children in grouped.items():
                self.equations.append(_Equation(tuple(children), (relation.parent, parent_key)))

    def raw(self, cell: Unknown) -> int:
        return self.tables[cell[0]].cells.get(cell[1], 0)

    def withheld(self, cell: Unknown, suppressed: set[Key]) -> bool:
        name, key = cell
        if name == self.open_name:
            return key in suppressed
        published = self.tables[name].published
        return published is not None and key in published and published[key] is None

    def rows(self, suppressed: set[Key]):
        """Equations with at least one unknown, as ({unknown: coefficient}, right-hand side)."""
        rows, membership = [], defaultdict(list)
        for index, equation in enumerate(self.equations):
            coefficients, constant = {}, 0.0
            for child in equation.children:
                if self.withheld(child, suppressed):
                    coefficients[child] = coefficients.get(child, 0.0) + 1.0
                else:
                    constant += self.raw(child)
            if self.withheld(equation.parent, suppressed):
                coefficients[equation.parent] = coefficients.get(equation.parent, 0.0) - 1.0
                rhs = -constant
            else:
                rhs = self.raw(equation.parent) - constant
            if coefficients:
                for unknown in coefficients:
                    membership[unknown].append(index)
                rows.append((index, coefficients, rhs))
        return rows, membership


def _components(rows) -> list[list[int]]:
    """Row positions grouped by the unknowns they share: each group is an independent program."""
    parent: dict[Unknown, Unknown] = {}

    def find(node):
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _index, coefficients, _rhs in rows:
        first, *rest = coefficients
        for unknown in rest:
            parent[find(unknown)] = find(first)
    groups: dict[Unknown, list[int]] = defaultdict(list)
    for position, (_index, coefficients, _rhs) in enumerate(rows):
        groups[find(next(iter(coefficients)))].append(position)
    return list(groups.values())


def _exposed(system: _System, suppressed: set[Key], threshold: int, audit: Audit, safe: set[Unknown]):
    """Small withheld counts whose feasible range is narrower than the threshold.

    Withholding one more cell turns a constant into an unknown: every range can only widen. So a
    count found safe stays safe (`safe`), and later rounds check only those still exposed."""
    rows, membership = system.rows(suppressed)
    exposed = []
    for component in _components(rows):
        unknowns = sorted({u for position in component for u in rows[position][1]}, key=repr)
        checked = [
            u for u in unknowns if u not in safe and 0 < system.raw(u) < threshold and system.tables[u[0]].protected
        ]
        if not checked:
            continue
        singles = {next(iter(rows[p][1])) for p in component if len(rows[p][1]) == 1}
        narrow = [u for u in checked if u in singles]
        narrow += _narrow(component, rows, unknowns, [u for u in checked if u not in singles], threshold, audit)
        safe.update(set(checked) - set(narrow))
        exposed += narrow
    return exposed, membership


def _narrow(component, rows, unknowns, checked, threshold: int, audit: Audit) -> list[Unknown]:
    """The checked unknowns whose range is narrower than the threshold.

    One HiGHS model for the component, re-solved warm with only the objective changed. Every
    solution is a point of the feasible set, so the values it gives all unknowns widen what is
    known of their ranges: an unknown already seen spanning the threshold needs no program of its
    own. The first two programs push all checked unknowns down together, then up."""
    if not checked:
        return []
    column = {unknown: position for position, unknown in enumerate(unknowns)}
    model = _model(component, rows, column)
    low_seen = np.full(len(unknowns), np.inf)
    high_seen = np.full(len(unknowns), -np.inf)
    targets = [column[unknown] for unknown in checked]
    _set_costs(model, targets, 1.0)
    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
        _observe(model, sense, low_seen, high_seen, audit)
    _set_costs(model, targets, 0.0)
    found = []
    for unknown in checked:
        position = column[unknown]
        if high_seen[position] - low_seen[position] >= threshold - TOLERANCE:
            continue
        model.changeColCost(position, 1.0)
        low = _observe(model, highspy.ObjSense.kMinimize, low_seen, high_seen, audit)
        high = _observe(model, highspy.ObjSense.kMaximize, low_seen, high_seen, audit)
        model.changeColCost(position, 0.0)
        if low is None:
            # Infeasible means the published figures disagree with the counts: never release.
            raise ValueError("disclosure audit: inconsistent tables")
        if high - low < threshold - TOLERANCE:
            found.append(unknown)
    return found


def _set_costs(model: "highspy.Highs", columns: list[int], cost: float) -> None:
    for position in columns:
        model.changeColCost(position, cost)


def _observe(model: "highspy.Highs", sense, low_seen, high_seen, audit: Audit) -> float | None:
    """Solve; fold the solution into the ranges seen; return the optimum (inf when unbounded)."""
    optimum = _solve(model, sense)
    audit.programs += 1
    if optimum is not None and optimum != float("inf"):
        values = np.asarray(model.getSolution().col_value)
        np.minimum(low_seen, values, out=low_seen)
        np.maximum(high_seen, values, out=high_seen)
    return optimum


def _model(component, rows, column) -> "highspy.Highs":
    starts, indices, values, rhs = [0], [], [], []
    for position in component:
        _index, coefficients, value = rows[position]
        for unknown, coefficient in coefficients.items():
            indices.append(column[unknown])
            values.append(coefficient)
        starts.append(len(indices))
        rhs.append(value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(column), len(component)
    lp.col_cost_ = np.zeros(len(column))
    lp.col_lower_ = np.zeros(len(column))
    lp.col_upper_ = np.full(len(column), highspy.kHighsInf)
    lp.row_lower_ = lp.row_upper_ = np.array(rhs, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(values, dtype=float)
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    # Re-solves differ only in the objective: the previous basis is a better start than presolving.
    model.setOptionValue("presolve", "off")
    # A new objective leaves the previous vertex feasible: primal simplex goes on from there.
    model.setOptionValue("simplex_strategy", 4)
    model.passModel(lp)
    return model


def _solve(model: "highspy.Highs", sense) -> float | None:
    """The objective's optimum; infinity when unbounded above, None when infeasible."""
    model.changeObjectiveSense(sense)
    model.run()
    status = model.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return model.getInfo().objective_function_value
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return float("inf") if sense == highspy.ObjSense.kMaximize else None
    return None


def _candidate(system: _System, exposed: Unknown, membership, suppressed: set[Key]) -> Key | None:
    """The smallest published positive cell of the open table sharing an equation with the exposed
    count; failing that, one sharing an equation with an unknown that does (a few steps out)."""
    frontier, seen = {exposed}, {exposed}
    for _step in range(6):
        best, reached = None, set()
        for unknown in frontier:
            for index in membership.get(unknown, ()):
                equation = system.equations[index]
                for cell in (*equation.children, equation.parent):
                    if system.withheld(cell, suppressed):
                        reached.add(cell)
                    elif cell[0] == system.open_name and system.raw(cell) > 0:
                        ranked = (system.raw(cell), repr(cell[1]))
                        if best is None or ranked < (system.raw((cell[0], best)), repr(best)):
                            best = cell[1]
        if best is not None:
            return best
        frontier = reached - seen
        seen |= frontier
        if not frontier:
            return None
    return None


def protect_tables(*, open_name: str, tables: dict[str, Table], relations: list[Relation], threshold: int) -> Audit:
    """Withhold every count of the open table from 1 to threshold-1, then as many more as the audit
    of the whole system needs. Cells absent from a table are published zeros."""
    cells = tables[open_name].cells
    suppressed = {key for key, value in cells.items() if 0 < value < threshold}
    audit = Audit(suppressed=set(suppressed))
    system = _System(open_name, tables, relations)
    safe: set[Unknown] = set()
    for audit.rounds in range(1, MAX_ROUNDS + 1):
        exposed, membership = _exposed(system, suppressed, threshold, audit, safe)
        if not exposed:
            break
        chosen = {_candidate(system, unknown, membership, suppressed) for unknown in exposed} - {None}
        if not chosen:
            audit.refused = True
            break
        suppressed |= chosen
        audit.secondary |= chosen
    else:
        audit.refused = True
    audit.suppressed = suppressed
    return audit


def protect(*, cells: dict[Key, int], margins: list[Margin], threshold: int) -> Audit:
    """One table against margins that have no margins of their own in view."""
    tables = {"table": Table("table", cells)}
    relations = []
    for margin in margins:
        raw: dict[Key, int] = defaultdict(int)
        for key, value in cells.items():
            raw[margin.parent_of[key]] += value
        tables[margin.name] = Table(margin.name, dict(raw), margin.published)
        relations.append(Relation("table", margin.name, margin.parent_of))
    return protect_tables(open_name="table", tables=tables, relations=relations, threshold=threshold)
