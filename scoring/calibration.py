"""Did the grades predict what happened? Grades checked against recorded outcomes.

For every outcome the grade that counts is the customer's grade of record made at least
``LEAD_DAYS`` (90) days before it: a grade given the week a customer left says nothing about
whether grading foresees churn. Storage picks that grade (``grade_cutoff`` is the rule);
this module only computes, so the same figures come out of the CLI, a chat card or a test.

What it reports (``Calibration``):

* per letter, how many of its customers renewed, expanded, churned, defaulted, …;
* how well the total separates churners from customers who renewed or expanded: the ROC AUC
  of the total (0.5 is a coin, 1.0 perfect), with a bootstrap interval that resamples
  *customers* (a customer's several outcomes are not independent evidence);
* how well-calibrated it is: the Brier score of the churn probability the total implies
  (a logistic fit of churn on the total, scored out of fold), beside the Brier score of
  always saying the base rate, and the reliability curve behind it;
* which questions carried the signal: each question's own AUC over the outcomes whose grade
  answered it;
* suggested dimension weights: an L2-regularised logistic regression of churn on the
  dimension scores; a dimension's suggested weight is its protective coefficient
  (``-coefficient``; a dimension whose higher scores come with *more* churn gets 0), scaled so
  the weights add up to what they add up to now; intervals from the first
  ``WEIGHT_BOOTSTRAP`` resamples of the same bootstrap (a refit each, the costly part).

Below ``MIN_OUTCOMES`` usable outcomes (or with too few churners or stayers to compare) it
refuses (``Refusal``) instead of printing figures that would be noise.

The statistics are scikit-learn's (an optional extra: ``pip install 'gradebot[calibrate]'``),
imported only when a calibration runs; ``MissingExtra`` says how to install it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from scoring.grading import answer_points
from scoring.worksheet import Worksheet

LEAD_DAYS = 90
MIN_OUTCOMES = 50
MIN_EACH = 5  # churners and stayers each, for any comparison at all
MIN_ANSWERED = 20  # outcomes whose grade answered a question, to rate the question
BOOTSTRAP = 200  # resamples of customers for the AUC interval
WEIGHT_BOOTSTRAP = 100  # of those, refitted for the weight intervals
FOLDS = 5
REGULARISATION = 1.0  # scikit-learn's C (inverse strength) on scores scaled to 0–1
NEUTRAL = 50.0  # a dimension the grade has no score for counts as neutral

CHURNED = "churned"
STAYED = ("renewed", "expanded")
KINDS = ("renewed", "expanded", "churned", "defaulted_or_paid_late", "referred", "exited_by_us")
INSTALL_HINT = (
    "Calibration needs scikit-learn: pip install 'gradebot[calibrate]' "
    "(or uv sync --extra calibrate)."
)


class MissingExtra(ImportError):
    """scikit-learn is not installed; the message says how to install it."""


def grade_cutoff(happened_on: date) -> datetime:
    """Grades made before this moment (UTC) may be used for an outcome on ``happened_on``:
    those made on or before the day ``LEAD_DAYS`` earlier."""
    return datetime.combine(happened_on - timedelta(days=LEAD_DAYS - 1), time(), UTC)


@dataclass(frozen=True)
class Observation:
    """One outcome with the grade of record made at least ``LEAD_DAYS`` before it."""

    customer_id: int
    kind: str
    happened_on: date
    graded_at: datetime
    total: float
    letter: str
    dimensions: Mapping[str, Any]  # dimension id → score 0–100 (None: not answered)
    answers: Mapping[str, Any]  # question id → the stored answer value


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class LetterRow:
    letter: str
    counts: Mapping[str, int]  # outcome kind → how many
    churn_rate: float | None  # churned / (churned + renewed + expanded)

    @property
    def outcomes(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class QuestionSignal:
    question_id: str
    label: str
    dimension: str
    answered: int
    auc: float  # > 0.5: higher points came with fewer churners


@dataclass(frozen=True)
class WeightSuggestion:
    dimension_id: str
    name: str
    now: float
    suggested: float
    interval: Interval
    coefficient: float  # log-odds of churn per 100 points of the dimension


@dataclass(frozen=True)
class ReliabilityPoint:
    predicted: float  # mean predicted churn probability of the bin
    observed: float  # share of the bin that churned


@dataclass(frozen=True)
class Calibration:
    outcomes: int  # usable: renewed, expanded or churned, graded in time
    churned: int
    stayed: int
    letters: tuple[LetterRow, ...]  # every kind of outcome, per letter of the grade
    auc: float  # of the total (lower total → churn)
    auc_interval: Interval
    brier: float  # of the churn probability the total implies
    brier_reference: float  # always saying the base rate
    model_auc: float  # the dimension model's, out of fold
    model_brier: float
    reliability: tuple[ReliabilityPoint, ...]
    questions: tuple[QuestionSignal, ...]  # strongest signal first
    weights: tuple[WeightSuggestion, ...]  # in worksheet order
    bootstrap: int  # resamples behind the AUC interval
    weight_bootstrap: int  # behind the weight intervals
    lead_days: int = LEAD_DAYS


@dataclass(frozen=True)
class Refusal:
    """Too little to go on; ``reason`` is one line to show as it is."""

    reason: str
    outcomes: int
    needed: int


def _sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
    return sklearn


def letter_rows(
    ws_letters: Sequence[str], observations: Sequence[Observation]
) -> tuple[LetterRow, ...]:
    """Outcome counts per letter, best letter first (letters the worksheet no longer has
    come after its own)."""
    counts: dict[str, dict[str, int]] = {}
    for o in observations:
        row = counts.setdefault(o.letter, dict.fromkeys(KINDS, 0))
        row[o.kind] = row.get(o.kind, 0) + 1
    order = [x for x in ws_letters if x in counts] + sorted(set(counts) - set(ws_letters))
    out = []
    for letter in order:
        c = counts[letter]
        compared = c.get(CHURNED, 0) + sum(c.get(k, 0) for k in STAYED)
        out.append(LetterRow(letter, c, c.get(CHURNED, 0) / compared if compared else None))
    return tuple(out)


def calibrate(
    ws: Worksheet,
    observations: Sequence[Observation],
    *,
    min_outcomes: int = MIN_OUTCOMES,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> Calibration | Refusal:
    """The report for ``observations`` (see the module docstring), or why there is none.
    Deterministic for a given ``seed``. Raises MissingExtra without scikit-learn."""
    letters = letter_rows([b.letter for b in ws.grade_bands], observations)
    used = [o for o in observations if o.kind == CHURNED or o.kind in STAYED]
    if len(used) < min_outcomes:
        return Refusal(
            f"Too few outcomes to calibrate: {len(used)} renewed, expanded or churned with a "
            f"grade made at least {LEAD_DAYS} days before; it needs {min_outcomes}. Record "
            "more (gradebot import outcomes FILE.csv).",
            len(used),
            min_outcomes,
        )
    churners = len({o.customer_id for o in used if o.kind == CHURNED})
    stayers = len({o.customer_id for o in used if o.kind != CHURNED})
    if churners < MIN_EACH or stayers < MIN_EACH:
        # counted in customers: the folds and the bootstrap draw customers, and each fold
        # must keep some of both kinds to fit on
        return Refusal(
            f"Nothing to compare: {churners} customers churned and {stayers} renewed or "
            f"expanded; it needs at least {MIN_EACH} of each.",
            len(used),
            min_outcomes,
        )
    sklearn = _sklearn()
    # our inputs are checked here (finite floats, two classes): skipping scikit-learn's own
    # checks on each of the hundreds of bootstrap calls halves their cost
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        return _report(ws, used, letters, bootstrap, seed)


def _report(
    ws: Worksheet,
    used: Sequence[Observation],
    letters: tuple[LetterRow, ...],
    bootstrap: int,
    seed: int,
) -> Calibration:
    import numpy as np
    from sklearn import calibration, linear_model, metrics, model_selection

    churned = sum(1 for o in used if o.kind == CHURNED)
    stayed = len(used) - churned
    y = np.fromiter((o.kind == CHURNED for o in used), dtype=np.int8, count=len(used))
    total = np.fromiter((o.total for o in used), dtype=float, count=len(used))
    dims = ws.dimensions
    x = np.array([[_score(o.dimensions.get(d.id)) for d in dims] for o in used]) / 100.0
    customers, groups = np.unique([o.customer_id for o in used], return_inverse=True)
    rng = np.random.default_rng(seed)
    # each resample draws customers with replacement; a row weighs as often as its customer
    # was drawn (all of a customer's outcomes move together)
    draws = [
        np.bincount(rng.integers(0, len(customers), len(customers)), minlength=len(customers))[
            groups
        ]
        for _ in range(bootstrap)
    ]

    draws = [w for w in draws if _both(y, w)]

    # The AUC of the total, on each distinct (total, churned) pair with its count: the
    # same figure as row by row (ties are grouped either way), at a fraction of the cost,
    # which is what lets the bootstrap run on a large book in moments.
    pairs, at = np.unique(np.column_stack([total, y]), axis=0, return_inverse=True)
    at = at.ravel()

    def auc_of(weights: Any) -> float:
        return float(
            metrics.roc_auc_score(
                pairs[:, 1], -pairs[:, 0], sample_weight=np.bincount(at, weights, len(pairs))
            )
        )

    auc = auc_of(np.ones(len(y)))
    aucs = [auc_of(w) for w in draws]
    folds = model_selection.PredefinedSplit(_folds(y, groups, len(customers), rng))
    p_total = model_selection.cross_val_predict(
        _model(linear_model), total.reshape(-1, 1) / 100.0, y, cv=folds, method="predict_proba"
    )[:, 1]
    p_model = model_selection.cross_val_predict(
        _model(linear_model), x, y, cv=folds, method="predict_proba"
    )[:, 1]
    observed, predicted = calibration.calibration_curve(y, p_total, n_bins=10, strategy="quantile")
    base = y.mean()

    # the fits, likewise on distinct (scores, churned) rows with their counts (a customer's
    # grade often stands unchanged for several outcomes)
    rows, row_at = np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)
    row_at = row_at.ravel()
    rx, ry = rows[:, :-1], rows[:, -1].astype(np.int8)
    fit = _model(linear_model).fit(rx, ry, sample_weight=np.bincount(row_at, None, len(rows)))
    coef = fit.coef_[0]
    boot = _model(linear_model, warm_start=True)
    suggested_runs = []
    for w in draws[:WEIGHT_BOOTSTRAP]:  # each starts from the full fit: a Newton step or two
        boot.coef_, boot.intercept_ = fit.coef_.copy(), fit.intercept_.copy()
        boot.fit(rx, ry, sample_weight=np.bincount(row_at, w, len(rows)))
        suggested_runs.append(_suggest(boot.coef_[0], dims))
    runs = np.array(suggested_runs)
    suggested = _suggest(coef, dims)
    weights = tuple(
        WeightSuggestion(
            d.id,
            d.name,
            d.weight,
            round(float(suggested[i]), 2),
            Interval(*(round(float(v), 2) for v in np.percentile(runs[:, i], [2.5, 97.5]))),
            round(float(coef[i]), 3),
        )
        for i, d in enumerate(dims)
    )
    return Calibration(
        outcomes=len(used),
        churned=churned,
        stayed=stayed,
        letters=letters,
        auc=round(auc, 3),
        auc_interval=_interval(aucs),
        brier=round(float(metrics.brier_score_loss(y, p_total)), 4),
        brier_reference=round(float(base * (1 - base)), 4),
        model_auc=round(float(metrics.roc_auc_score(y, p_model)), 3),
        model_brier=round(float(metrics.brier_score_loss(y, p_model)), 4),
        reliability=tuple(
            ReliabilityPoint(round(float(p), 3), round(float(o), 3))
            for p, o in zip(predicted, observed, strict=True)
        ),
        questions=_questions(ws, used, y, metrics),
        weights=weights,
        bootstrap=len(aucs),
        weight_bootstrap=len(suggested_runs),
    )


def _folds(y: Any, groups: Any, customers: int, rng: Any) -> Any:
    """The fold of each row for out-of-fold scores: by customer (no customer is scored by a
    fit that saw them), churners dealt out over the folds like cards, then the others, so
    every fold's fit has both kinds (scikit-learn's StratifiedGroupKFold does this too, but
    took seconds on ten thousand customers)."""
    import numpy as np

    churner = np.zeros(customers, dtype=bool)
    churner[groups[y == 1]] = True
    order = np.lexsort((rng.random(customers), ~churner))  # churners first, shuffled
    fold = np.empty(customers, dtype=np.intp)
    fold[order] = np.arange(customers) % FOLDS
    return fold[groups]


def _model(linear_model: Any, **kw: Any) -> Any:
    """The regularised logistic regression (L2). Newton–Cholesky: a handful of features
    and many rows is the case it is made for (L-BFGS took ten times as long here)."""
    return linear_model.LogisticRegression(C=REGULARISATION, solver="newton-cholesky", **kw)


def _score(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else NEUTRAL
    )


def _both(y: Any, w: Any) -> bool:
    """A resample with churners and stayers in it (else AUC and fits are undefined)."""
    picked = w > 0
    return bool(y[picked].any() and not y[picked].all())


def _interval(values: Sequence[float]) -> Interval:
    import numpy as np

    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(round(float(low), 3), round(float(high), 3))


def _suggest(coef: Any, dims: Sequence[Any]) -> Any:
    """Weights in proportion to each dimension's protective coefficient, adding up to the
    worksheet's weights now (all zero when no dimension protects)."""
    import numpy as np

    protective = np.clip(-np.asarray(coef, dtype=float), 0.0, None)
    scale = sum(d.weight for d in dims)
    s = protective.sum()
    return protective * (scale / s) if s > 0 else protective


def _questions(
    ws: Worksheet, used: Sequence[Observation], y: Any, metrics: Any
) -> tuple[QuestionSignal, ...]:
    """Each scored question's AUC over the outcomes whose grade answered it, strongest
    signal (furthest from 0.5, either way) first."""
    import numpy as np

    questions = ws.scored_questions
    nan = float("nan")
    # one row of points per outcome, NaN where its grade did not answer the question
    points = np.array(
        [
            [p.get(q.id, nan) for q in questions]
            for p in (answer_points(ws, o.answers) for o in used)
        ],
        dtype=float,
    ).reshape(len(used), len(questions))
    out = []
    for j, q in enumerate(questions):
        answered = ~np.isnan(points[:, j])
        n = int(answered.sum())
        if n < MIN_ANSWERED:
            continue
        pts, yy = points[answered, j], y[answered]
        if yy.all() or not yy.any() or np.ptp(pts) == 0:
            continue
        pairs, at = np.unique(np.column_stack([pts, yy]), axis=0, return_inverse=True)
        auc = metrics.roc_auc_score(
            pairs[:, 1], -pairs[:, 0], sample_weight=np.bincount(at.ravel(), None, len(pairs))
        )
        out.append(QuestionSignal(q.id, q.label, q.dimension or "", n, round(float(auc), 3)))
    out.sort(key=lambda s: (-abs(s.auc - 0.5), s.question_id))
    return tuple(out)
