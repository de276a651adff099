"""Early warning: a week's count of validated reports, per area and category group, far above its baseline.

The rule, per area and category group, for one ISO week:

- the baseline is the 12 weeks before last week; the week just before the evaluated one is a guard
  band, so a surge that began a few days early does not raise its own baseline;
- with less than 14 weeks of history (from the first week with any validated report in the area, in
  any group, to the evaluated week inclusive) the answer is "insufficient history";
- mu = max(mean of the baseline, 0.25), so that a quiet baseline still expects a little;
- phi = max(1, variance / mean), and 1 when the mean is 0;
- p = P(Y >= this week's count) under Poisson(mu) when phi = 1, otherwise under the negative
  binomial with mean mu and variance phi * mu (scipy's nbinom with n = mu / (phi - 1), p = 1 / phi);
- an alert when the count is at least 3 and p < 0.001.

Awareness campaigns invite reports: their weeks stay out of baselines in the campaign's area, its
descendants and its ancestors. The baseline is then the 12 most recent weeks before the guard band
that are not campaign weeks, and "enough history" means that 12 such weeks exist within the history;
the guard band stays the week just before the evaluated one, campaign or not. A campaign week is
itself still evaluated: the rule keeps campaigns out of baselines only, and an alert in a campaign
week shows the campaign reached people, which the committee may acknowledge as such.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from django.db import connection
from django.utils import timezone
from scipy import stats

from community.models import Area
from reports.models import Category

from .models import Alert, AwarenessCampaign, RollupCell
from .rollup import area_nodes, mask_of, week_start
from .services import alert_raise

Progress = Callable[[Iterable, int], Iterable]

BASELINE_WEEKS = 12
GUARD_WEEKS = 1
MIN_HISTORY_WEEKS = BASELINE_WEEKS + GUARD_WEEKS + 1
MIN_EXPECTED = 0.25
MIN_COUNT = 3
ALPHA = 0.001
LEVELS = (Area.Level.REGION, Area.Level.MUNICIPALITY, Area.Level.COMMUNITY)

ALERT, QUIET, INSUFFICIENT = "alert", "quiet", "insufficient history"


@dataclass(frozen=True)
class Evaluation:
    status: str
    observed: int
    mu: float | None = None
    phi: float | None = None
    p: float | None = None
    threshold: int | None = None  # the smallest count that would alert against this baseline


# --- Statistics ------------------------------------------------------------------------------


def _baseline(counts: Sequence[int], excluded: Sequence[bool]) -> list[int] | None:
    """The 12 most recent non-campaign weeks before the guard band, or None when there are fewer."""
    candidates = [count for count, out in zip(counts[: -1 - GUARD_WEEKS], excluded, strict=False) if not out]
    if len(candidates) < BASELINE_WEEKS:
        return None
    return candidates[-BASELINE_WEEKS:]


def _dispersion(baseline: Sequence[int]) -> float:
    """phi = max(1, variance / mean), 1 for an all-zero baseline.

    The variance is the sample variance (ddof=1). Computed exactly in integers so that a ratio of
    exactly 1 (as for a single report in twelve weeks) stays 1 and selects the Poisson, rather than
    a negative binomial with an enormous n from rounding.
    """
    # Sample variance (ddof=1): k * (sum of squares) - total^2 over k (k - 1), divided by the mean total / k.
    k, total, squares = len(baseline), sum(baseline), sum(count * count for count in baseline)
    if total == 0:
        return 1.0
    ratio = Fraction(k * squares - total * total, (k - 1) * total)
    return float(max(Fraction(1), ratio))


def _tail(mu: float, phi: float) -> tuple[Callable[[int], float], Callable[[float], float]]:
    """(k -> P(Y > k), q -> the smallest k with P(Y > k) <= q) for the baseline's distribution."""
    if phi == 1.0:
        return (lambda k: float(stats.poisson.sf(k, mu))), (lambda q: float(stats.poisson.isf(q, mu)))
    n, p = mu / (phi - 1.0), 1.0 / phi
    return (lambda k: float(stats.nbinom.sf(k, n, p))), (lambda q: float(stats.nbinom.isf(q, n, p)))


def _threshold(sf: Callable[[int], float], isf: Callable[[float], float]) -> int:
    """The smallest count c >= 3 with P(Y >= c) = sf(c - 1) < ALPHA."""
    guess = isf(ALPHA)  # the smallest k with P(Y > k) <= ALPHA, so about P(Y >= k + 1)
    c = max(MIN_COUNT, int(guess) + 1 if math.isfinite(guess) else MIN_COUNT)
    # isf answers "<= ALPHA" and rounds in floating point; settle the strict "<" by stepping.
    while c > MIN_COUNT and sf(c - 2) < ALPHA:
        c -= 1
    while sf(c - 1) >= ALPHA:
        c += 1
    return c


def evaluate(counts: Sequence[int], *, excluded: Sequence[bool] = ()) -> Evaluation:
    """Evaluate the last week of `counts`: an area's weekly counts for one category group over its
    history, oldest first, from the area's first week with any validated report to the evaluated
    week. `excluded` flags campaign weeks, aligned with `counts` (missing flags mean not excluded).
    """
    counts = [int(count) for count in counts]
    excluded = [bool(out) for out in excluded] + [False] * (len(counts) - len(excluded))
    observed = counts[-1] if counts else 0
    baseline = _baseline(counts, excluded) if len(counts) >= MIN_HISTORY_WEEKS else None
    if baseline is None:
        return Evaluation(status=INSUFFICIENT, observed=observed)
    mu = max(sum(baseline) / len(baseline), MIN_EXPECTED)
    phi = _dispersion(baseline)
    sf, isf = _tail(mu, phi)
    p = 1.0 if observed <= 0 else sf(observed - 1)
    status = ALERT if observed >= MIN_COUNT and p < ALPHA else QUIET
    return Evaluation(status=status, observed=observed, mu=mu, phi=phi, p=p, threshold=_threshold(sf, isf))


# --- The weekly run --------------------------------------------------------------------------


def last_complete_week() -> date:
    """Monday of the last ISO week that has ended, in the project time zone."""
    return week_start(timezone.localdate()) - timedelta(weeks=1)


def _campaign_weeks(week: date) -> dict[int, set[date]]:
    """Area id -> Mondays of campaign weeks there: a campaign marks its own area, its descendants and
    its ancestors. A campaign touching any day of an ISO week marks the whole week."""
    campaigns = AwarenessCampaign.objects.filter(starts_on__lte=week + timedelta(days=6)).values_list(
        "area_id", "starts_on", "ends_on"
    )
    if not campaigns:
        return {}
    nodes = area_nodes()
    children: dict[int, list[int]] = {}
    for node in nodes.values():
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node.id)
    marked: dict[int, set[date]] = {}
    for area_id, starts_on, ends_on in campaigns:
        mondays = set(_mondays(week_start(starts_on), min(week_start(ends_on), week)))
        for target in _family(area_id, nodes, children):
            marked.setdefault(target, set()).update(mondays)
    return marked


def _mondays(first: date, last: date) -> list[date]:
    return [first + timedelta(weeks=index) for index in range((last - first).days // 7 + 1)] if first <= last else []


def _family(area_id: int, nodes: dict, children: dict[int, list[int]]) -> set[int]:
    family, stack = {area_id}, [area_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in family:
                family.add(child)
                stack.append(child)
    node = nodes.get(area_id)
    while node is not None and node.parent_id is not None:
        family.add(node.parent_id)
        node = nodes.get(node.parent_id)
    return family


def _earliest_needed(week: date, campaign_weeks: set[date]) -> date:
    """The earliest Monday any baseline can reach back to: before the guard band, 12 weeks that no
    campaign anywhere marks. Older weeks never change an answer, so they are not read."""
    monday, found = week - timedelta(weeks=GUARD_WEEKS + 1), 0
    while True:
        if monday not in campaign_weeks:
            found += 1
            if found == BASELINE_WEEKS:
                return monday
        monday -= timedelta(weeks=1)


# One statement for the whole run: the weekly counts by category group, summed over sensitive and not,
# for the window the baselines can use; and each area's first week with any validated report (the start
# of its history, any group, all time). Each area is read at its own level: the finer levels also key
# coarsely located reports by their coarser area, and those partial series would shadow the full one.
_COUNTS = """
    SELECT 'c', cell.area_id, cell."group", cell.period, SUM(cell.count)
    FROM insights_rollupcell cell JOIN community_area area ON area.id = cell.area_id AND area.level = cell.level
    WHERE cell.period_kind = %(kind)s AND cell.dims = %(dims)s AND cell.level = ANY(%(levels)s)
      AND cell.period BETWEEN %(since)s AND %(week)s AND cell.count > 0
    GROUP BY cell.area_id, cell."group", cell.period
    UNION ALL
    SELECT 'f', cell.area_id, '', MIN(cell.period), 0
    FROM insights_rollupcell cell JOIN community_area area ON area.id = cell.area_id AND area.level = cell.level
    WHERE cell.period_kind = %(kind)s AND cell.dims = %(dims)s AND cell.level = ANY(%(levels)s)
      AND cell.period <= %(week)s AND cell.count > 0
    GROUP BY cell.area_id
"""


@dataclass
class _AreaSeries:
    first: date
    counts: dict[str, dict[date, int]]


def _read_counts(week: date, since: date) -> dict[int, _AreaSeries]:
    params = {
        "kind": RollupCell.PeriodKind.WEEK,
        "dims": mask_of(["group"]),
        "levels": [int(level) for level in LEVELS],
        "since": since,
        "week": week,
    }
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS, params)
        rows = cursor.fetchall()
    series = {area_id: _AreaSeries(first=period, counts={}) for kind, area_id, _g, period, _n in rows if kind == "f"}
    for kind, area_id, group, period, count in rows:
        if kind == "c":
            series[area_id].counts.setdefault(group, {})[period] = int(count)
    return series


def early_warning_run(*, week: date | None = None, progress: Progress | None = None) -> list[Alert]:
    """Evaluate every (area, category group) at the region, municipality and community levels for
    one ISO week (default: the last complete one in settings.TIME_ZONE) and store its alerts.

    Idempotent: an alert already stored for the area, group and week is kept as it was raised (and
    not pushed again). Returns the week's alerts found by this run, new and already stored.
    `progress`, when given, wraps the loop over areas (as tqdm does: `progress(items, total)`).
    """
    week = week_start(week) if week is not None else last_complete_week()
    campaigns = _campaign_weeks(week)
    since = _earliest_needed(week, set().union(*campaigns.values()) if campaigns else set())
    series = _read_counts(week, since)
    groups = [str(value) for value in Category.Group.values]
    items = series.items() if progress is None else progress(series.items(), len(series))
    alerts = []
    for area_id, area_series in items:
        # A history reaching back before the window gives the same baseline from the window alone
        # (see _earliest_needed): the window holds 12 usable weeks before the guard band.
        weeks = _mondays(max(area_series.first, since), week)
        excluded = [monday in campaigns.get(area_id, ()) for monday in weeks]
        for group in groups:
            by_week = area_series.counts.get(group, {})
            # A count below the minimum never alerts, whatever the baseline: skip the arithmetic.
            if by_week.get(week, 0) < MIN_COUNT:
                continue
            result = evaluate([by_week.get(monday, 0) for monday in weeks], excluded=excluded)
            if result.status == ALERT:
                alerts.append(_store(area_id, group, week, result))
    return alerts


def _store(area_id: int, group: str, week: date, result: Evaluation) -> Alert:
    alert, _created = alert_raise(
        area_id=area_id,
        group=group,
        week=week,
        observed=result.observed,
        expected=result.mu,
        threshold=result.threshold,
        p_value=result.p,
        dispersion=result.phi,
    )
    return alert
