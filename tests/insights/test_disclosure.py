"""The suppression audit on small tables, checked against an independent linear program."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from insights.disclosure import Margin, protect

THRESHOLD = 5


def ranges(cells: dict, margins: list[Margin], suppressed: set) -> dict:
    """Lowest and highest value of every withheld cell, this table's and the margins', given all
    published values: written apart from insights.disclosure so that it checks it."""
    unknown = sorted(suppressed, key=repr)
    margin_unknown = sorted({(m.name, k) for m in margins for k, v in m.published.items() if v is None}, key=repr)
    columns = {("cell", key): i for i, key in enumerate(unknown)}
    for name in margin_unknown:
        columns[("margin", name)] = len(columns)
    rows, rhs = [], []
    for margin in margins:
        for parent_key, value in margin.published.items():
            row = np.zeros(len(columns))
            total = 0.0
            for key, cell_value in cells.items():
                if margin.parent_of[key] != parent_key:
                    continue
                if key in suppressed:
                    row[columns[("cell", key)]] += 1
                else:
                    total += cell_value
            if value is None:
                row[columns[("margin", (margin.name, parent_key))]] -= 1
                rows.append(row), rhs.append(-total)
            elif row.any():
                rows.append(row), rhs.append(value - total)
    found = {}
    for name, column in columns.items():
        c = np.zeros(len(columns))
        c[column] = 1
        kwargs = {"A_eq": np.array(rows), "b_eq": rhs} if rows else {}
        low = linprog(c, bounds=(0, None), method="highs", **kwargs)
        high = linprog(-c, bounds=(0, None), method="highs", **kwargs)
        found[name] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return found


def small_unknowns(cells: dict, margins: list[Margin], suppressed: set) -> set:
    """Withheld counts below the threshold: this table's, and the margins' (their cells' sums)."""
    small = {("cell", key) for key in suppressed if cells[key] < THRESHOLD}
    for margin in margins:
        for parent_key, value in margin.published.items():
            total = sum(v for k, v in cells.items() if margin.parent_of[k] == parent_key)
            if value is None and 0 < total < THRESHOLD:
                small.add(("margin", (margin.name, parent_key)))
    return small


def assert_protected(cells, margins, audit) -> None:
    """Every withheld count below the threshold, this table's and the margins', ranges over at least
    the threshold given everything published."""
    assert not audit.refused
    small = small_unknowns(cells, margins, audit.suppressed)
    for name, (low, high) in ranges(cells, margins, audit.suppressed).items():
        if name in small:
            assert high - low >= THRESHOLD - 1e-6, f"{name} lies in [{low}, {high}]"


def total_margin(cells: dict, published: int | None = None) -> Margin:
    value = sum(cells.values()) if published is None else published
    return Margin(name="total", published={"all": value}, parent_of={key: "all" for key in cells})


def test_it_suppresses_counts_below_the_threshold_and_nothing_else_without_margins():
    cells = {"a": 3, "b": 10, "c": 4, "d": 5}
    audit = protect(cells=cells, margins=[], threshold=THRESHOLD)
    assert audit.suppressed == {"a", "c"}
    assert audit.secondary == set()


def test_it_suppresses_one_more_cell_when_the_total_gives_the_small_one_away():
    cells = {"a": 3, "b": 10}
    margins = [total_margin(cells)]
    # Suppressing only "a" leaves it at 13 - 10 = 3.
    assert ranges(cells, margins, {"a"})[("cell", "a")] == pytest.approx((3, 3))
    audit = protect(cells=cells, margins=margins, threshold=THRESHOLD)
    assert audit.suppressed == {"a", "b"}
    assert audit.secondary == {"b"}
    assert_protected(cells, margins, audit)


def test_it_protects_a_cell_of_a_two_way_table_with_row_and_column_totals():
    # Rows r0..r2, columns c0..c2; one small cell. A rectangle of four cells is the classic answer.
    values = [[20, 2, 15], [12, 30, 8], [9, 11, 25]]
    cells = {(r, c): values[r][c] for r in range(3) for c in range(3)}
    margins = [
        Margin("rows", {r: sum(values[r]) for r in range(3)}, {key: key[0] for key in cells}),
        Margin("columns", {c: sum(values[r][c] for r in range(3)) for c in range(3)}, {key: key[1] for key in cells}),
    ]
    audit = protect(cells=cells, margins=margins, threshold=THRESHOLD)
    assert (0, 1) in audit.suppressed
    assert len(audit.suppressed) >= 4
    assert_protected(cells, margins, audit)


def test_it_protects_a_withheld_margin_cell_from_this_tables_published_cells():
    # The margin withheld "all" (4 reports); publishing both its cells would give it away.
    cells = {"a": 0, "b": 4}
    cells = {key: value for key, value in cells.items() if value}
    margins = [total_margin(cells, published=None)]
    margins[0].published["all"] = None
    audit = protect(cells=cells, margins=margins, threshold=THRESHOLD)
    assert audit.suppressed == {"b"}
    assert_protected(cells, margins, audit)


def test_it_needs_no_range_for_a_withheld_margin_count_that_is_not_small():
    # The margin withheld 42 to shield small counts of its own table; 30 + 12 discloses nothing small.
    cells = {"a": 30, "b": 12}
    margins = [Margin("total", {"all": None}, {"a": "all", "b": "all"})]
    audit = protect(cells=cells, margins=margins, threshold=THRESHOLD)
    assert audit.suppressed == set()
    assert not audit.refused


def test_it_refuses_a_table_that_cannot_be_protected():
    # A published total of 4 over a single cell: whatever is withheld, the cell is known.
    cells = {"a": 4}
    audit = protect(cells=cells, margins=[total_margin(cells)], threshold=THRESHOLD)
    assert audit.refused


def released_one_way(totals: list[int]) -> dict:
    """A margin table as the lattice releases it: protected first against its own grand total."""
    cells = {index: value for index, value in enumerate(totals) if value}
    total = sum(totals)
    grand = Margin("grand", {"all": None if 0 < total < THRESHOLD else total}, {key: "all" for key in cells})
    audit = protect(cells=cells, margins=[grand], threshold=THRESHOLD)
    assert not audit.refused
    return {key: (None if key in audit.suppressed else value) for key, value in cells.items()}


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=2, max_value=4).flatmap(
        lambda width: st.lists(
            st.lists(st.sampled_from([0, 0, 1, 2, 3, 4, 6, 8, 12, 20]), min_size=width, max_size=width),
            min_size=2,
            max_size=4,
        )
    )
)
def test_it_leaves_no_small_withheld_count_narrower_than_the_threshold(values):
    cells = {(r, c): v for r, row in enumerate(values) for c, v in enumerate(row) if v}
    if not cells:
        return
    columns = [sum(row[c] for row in values) for c in range(len(values[0]))]
    margins = [
        Margin("rows", released_one_way([sum(row) for row in values]), {k: k[0] for k in cells}),
        Margin("columns", released_one_way(columns), {k: k[1] for k in cells}),
    ]
    audit = protect(cells=cells, margins=margins, threshold=THRESHOLD)
    if audit.refused:
        return  # not released at all: nothing to recover
    assert {k for k, v in cells.items() if v < THRESHOLD} <= audit.suppressed
    assert_protected(cells, margins, audit)
