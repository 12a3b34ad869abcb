"""Canonical columns, column aliases, validation messages and the :class:`Trial` container.

Everything else in :mod:`ketapain_core` speaks the vocabulary defined here (DESIGN.md section 2).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
from pathlib import Path
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

#: Required diary columns, in canonical order.
#: The analysis defaults (the paper's primary endpoint): the one place the app, the CLI and the core take them from.
DEFAULT_OUTCOME = "pain_average"
DEFAULT_POLICY = "locf"
DEFAULT_HORIZON = 35
#: Multiple imputation: number of imputations and seed (the app, the command line, the core).
DEFAULT_IMPUTATIONS = 20
DEFAULT_MI_SEED = 20200701

#: Words read as yes / no in a flag column (lower case, stripped), the one vocabulary of the readers, the safety
#: tables and Table 1. ``t`` / ``f`` are yes / no only where a column is known to be a flag (related, serious):
#: :data:`FLAG_LETTERS` lists them so that Table 1 can leave them out (a column of "F" there means female).
YES_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0", "oui"})
NO_WORDS = frozenset({"no", "n", "false", "f", "0", "0.0", "non"})
FLAG_LETTERS = frozenset({"t", "f"})

#: The bundled simulated KETAPAIN trial (the repository's ``data/simulated``), the one place its path is written.
BUNDLED_DATA: Path = Path(__file__).resolve().parents[1] / "data" / "simulated"
#: The upload templates (``data/templates``).
TEMPLATES_DATA: Path = Path(__file__).resolve().parents[1] / "data" / "templates"

DIARY_REQUIRED: tuple[str, ...] = ("patient", "period", "treatment", "day", "pain_average")
#: Daily outcomes a diary may hold (``pain_average`` is required, the others optional).
OUTCOMES: tuple[str, ...] = ("pain_average", "pain_max", "pain_night")
OUTCOME_LABELS: dict[str, str] = {
    "pain_average": "Average pain",
    "pain_max": "Maximal pain",
    "pain_night": "Night pain",
}
DIARY_COLUMNS: tuple[str, ...] = ("patient", "period", "treatment", "day") + OUTCOMES
#: Default period length D (days 1..D are the diary) and default AUC horizons.
DEFAULT_PERIOD_DAYS: int = 35
DEFAULT_HORIZONS: tuple[int, ...] = (7, 15, 21, 28, 35)
PAIN_MIN, PAIN_MAX = 0.0, 10.0
#: Text that means "missing" in an uploaded cell (after stripping; case-insensitive).
MISSING_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", ".", "null", "none"})
#: Names of the optional tables (and of the workbook sheets that hold them).
TABLES: tuple[str, ...] = ("diary", "patients", "questionnaires", "adverse_events", "analgesics")

#: Aliases, per table: canonical name -> accepted spellings (compared after normalisation).
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "diary": {
        "patient": ("patient", "subject", "id", "patient_id", "subject_id", "subjid", "usubjid", "pt", "participant"),
        "period": ("period", "per", "aperiod", "visit_period"),
        "treatment": ("treatment", "arm", "trt", "trta", "trtp", "treat", "group"),
        "day": ("day", "study_day", "day_in_period", "aperday", "ady", "diary_day"),
        "pain_average": ("pain_average", "pain", "average_pain", "pain_avg", "avg_pain", "nrs", "nrs_average",
                         "mean_pain", "painavg", "avgpain"),
        "pain_max": ("pain_max", "max_pain", "maximal_pain", "maximum_pain", "painmax", "maxpain", "nrs_max"),
        "pain_night": ("pain_night", "night_pain", "nocturnal_pain", "painnight", "nightpain", "nrs_night"),
    },
    "patients": {
        "patient": ("patient", "subject", "id", "patient_id", "subject_id", "subjid", "usubjid", "pt", "participant"),
        "sex": ("sex", "gender"),
        "age": ("age", "age_years", "age_yr"),
        "weight": ("weight", "weight_kg", "wt", "weightbl"),
        "height": ("height", "height_m", "ht", "heightbl"),
        "pain_type": ("pain_type", "etiology", "aetiology", "cause"),
        "pain_duration_years": ("pain_duration_years", "pain_duration", "duration_years", "duration"),
        "dn4": ("dn4", "dn4_score"),
    },
    "questionnaires": {
        "patient": ("patient", "subject", "id", "patient_id", "subject_id", "subjid", "usubjid", "pt", "participant"),
        "timepoint": ("timepoint", "time", "visit", "period"),
        "instrument": ("instrument", "questionnaire", "scale_name"),
        "scale": ("scale", "subscale", "item", "domain"),
        "value": ("value", "score", "aval"),
    },
    "adverse_events": {
        "patient": ("patient", "subject", "id", "patient_id", "subject_id", "subjid", "usubjid", "pt", "participant"),
        "period": ("period", "per", "aperiod"),
        "event": ("event", "term", "aeterm", "aedecod", "adverse_event"),
        "related": ("related", "aerel", "treatment_related", "relatedness"),
        "serious": ("serious", "aeser", "sae"),
    },
    # Extra analgesics taken during a period (Table 4); an addition to DESIGN.md's four tables.
    "analgesics": {
        "patient": ("patient", "subject", "id", "patient_id", "subject_id", "subjid", "usubjid", "pt", "participant"),
        "period": ("period", "per", "aperiod"),
        "drug_class": ("drug_class", "drug", "class", "medication", "analgesic", "cmclas", "cmdecod"),
    },
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "diary": DIARY_REQUIRED,
    "patients": ("patient",),
    "questionnaires": ("patient", "timepoint", "instrument", "scale", "value"),
    "adverse_events": ("patient", "period", "event"),
    "analgesics": ("patient", "period", "drug_class"),
}

@dataclass(frozen=True)
class ColumnRule:
    """How the readers take one column of an optional table (declared once here, beside :data:`ALIASES`).

    ``parse``: "patient" (identifier, required in every row), "period" (whole number >= 1), "timepoint"
    ("baseline" or a period number), "flag" (yes/no, :data:`YES_WORDS` / :data:`NO_WORDS`), "score" (a number;
    blank = missing, said), "number" (a number; anything else is an error), "number_or_text" (numbers when every
    value is one, else text), "text". ``what``: what a message calls a value. ``clean``: "label" (cleaned and
    bounded as a label), "text" (cleaned, unbounded) or "none" (a numeric column, read as it is). ``blank``:
    what a blank cell of a required column is: "error", or "info" (said, and kept).
    """

    parse: str
    what: str
    clean: str = "label"
    blank: str = "error"


_PATIENT_RULE = ColumnRule("patient", "patient identifier")
_PERIOD_RULE = ColumnRule("period", "period", clean="none")
#: Per table, the rule of each known column of the optional tables.
COLUMN_RULES: dict[str, dict[str, ColumnRule]] = {
    "patients": {
        "patient": _PATIENT_RULE,
        "sex": ColumnRule("number_or_text", "sex"),
        "pain_type": ColumnRule("number_or_text", "pain type"),
        **{c: ColumnRule("number", c, clean="none") for c in ("age", "weight", "height", "pain_duration_years",
                                                             "dn4")},
    },
    "questionnaires": {
        "patient": _PATIENT_RULE,
        "timepoint": ColumnRule("timepoint", "timepoint"),
        "instrument": ColumnRule("text", "instrument"),
        "scale": ColumnRule("text", "scale", blank="info"),
        "value": ColumnRule("score", "questionnaire value", clean="none"),
        "period": _PERIOD_RULE,
    },
    "adverse_events": {
        "patient": _PATIENT_RULE,
        "period": _PERIOD_RULE,
        "event": ColumnRule("text", "event"),
        "related": ColumnRule("flag", "related flag"),
        "serious": ColumnRule("flag", "serious flag"),
    },
    "analgesics": {
        "patient": _PATIENT_RULE,
        "period": _PERIOD_RULE,
        "drug_class": ColumnRule("text", "drug class"),
    },
}
#: The rule of a column an upload adds to an optional table (kept, shown, never required).
EXTRA_COLUMN_RULES: dict[str, ColumnRule] = {
    "patients": ColumnRule("number_or_text", "text value", clean="text"),
    "questionnaires": ColumnRule("text", "text value", clean="text"),
    "adverse_events": ColumnRule("text", "text value", clean="text"),
    "analgesics": ColumnRule("text", "text value", clean="text"),
}
#: The columns that identify a row of an optional table (two rows with the same key are duplicates).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "patients": ("patient",),
    "questionnaires": ("patient", "timepoint", "instrument", "scale"),
}


def column_rule(table: str, column: str) -> ColumnRule:
    """The rule of a column of an optional table (:data:`COLUMN_RULES`, else :data:`EXTRA_COLUMN_RULES`; a
    column called "period" is a period number in every table).

    >>> column_rule("adverse_events", "serious").parse, column_rule("patients", "bmi").parse
    ('flag', 'number_or_text')
    """
    rule = COLUMN_RULES[table].get(column)
    if rule is not None:
        return rule
    extra = EXTRA_COLUMN_RULES[table]
    return ColumnRule("period", "period", clean=extra.clean) if column == "period" else extra


#: Labels taken to mean the control arm when choosing a default reference (DESIGN.md section 3).
_REFERENCE_WORDS = re.compile(r"placebo|saline|control|sham|vehicle|dummy", re.IGNORECASE)


def normalise_name(name: object) -> str:
    """Lower-case a column name and fold spaces, dots and dashes to underscores.

    >>> normalise_name(" Pain Average ")
    'pain_average'
    """
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s.\-/]+", "_", text).strip("_")


#: A display order of the arms chosen by the user (see :func:`display_order`); ``None``: the default order.
_DISPLAY_ORDER: contextvars.ContextVar[Optional[tuple[str, ...]]] = contextvars.ContextVar(
    "ketapain_arm_display_order", default=None)


def order_arms(labels: Iterable[object]) -> list[str]:
    """Order treatment labels stably: control-like labels first, then the rest alphabetically.

    The order is used by every table and figure, so the same arm keeps the same place and colour. Inside
    :func:`display_order` the arms it lists come first, in its order (display only: the statistics do not
    depend on it, except that a pairwise contrast a - b follows the order, later arm minus earlier).

    >>> order_arms(["Ketamine/Mg", "Placebo", "Ketamine"])
    ['Placebo', 'Ketamine', 'Ketamine/Mg']
    >>> with display_order(["Ketamine/Mg"]):
    ...     order_arms(["Ketamine/Mg", "Placebo", "Ketamine"])
    ['Ketamine/Mg', 'Placebo', 'Ketamine']
    """
    default = _default_order(labels)
    chosen = _DISPLAY_ORDER.get()
    if not chosen:
        return default
    present = set(default)
    first = [a for a in dict.fromkeys(chosen) if a in present]
    listed = set(first)
    return first + [a for a in default if a not in listed]


def _default_order(labels: Iterable[object]) -> list[str]:
    uniq = sorted({str(x) for x in labels if pd.notna(x)}, key=lambda s: (s.lower(), s))
    control = [s for s in uniq if _REFERENCE_WORDS.search(s)]
    return control + [s for s in uniq if s not in control]


def set_display_order(order: Optional[Sequence[str]]) -> None:
    """Set (``None``: clear) the display order of the arms for the rest of this thread's work
    (:func:`order_arms`); the app sets it at the start of every run. :func:`display_order` is the scoped form.

    >>> set_display_order(["B"]); order_arms(["A", "B"]); set_display_order(None); order_arms(["A", "B"])
    ['B', 'A']
    ['A', 'B']
    """
    _DISPLAY_ORDER.set(tuple(str(a) for a in order) if order else None)


@contextlib.contextmanager
def display_order(order: Optional[Sequence[str]]) -> Iterator[None]:
    """Within the block, :func:`order_arms` puts these arms first, in this order (display only).

    >>> with display_order(["Saline", "Low dose", "High dose"]):
    ...     order_arms(["High dose", "Low dose", "Saline"])
    ['Saline', 'Low dose', 'High dose']
    """
    token = _DISPLAY_ORDER.set(tuple(str(a) for a in order) if order else None)
    try:
        yield
    finally:
        _DISPLAY_ORDER.reset(token)


def arm_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair of arms (a, b) for the contrast a - b, in emmeans' ``revpairwise`` order: each later arm
    against every earlier one (B - A, C - A, C - B, D - A, ...), so tables list the pairs as R does.

    >>> arm_pairs(["A", "B", "C", "D"])
    [('B', 'A'), ('C', 'A'), ('C', 'B'), ('D', 'A'), ('D', 'B'), ('D', 'C')]
    """
    return [(arms[j], arms[i]) for j in range(1, len(arms)) for i in range(j)]


def default_reference(labels: Iterable[object]) -> Optional[str]:
    """The default reference arm: a label meaning placebo, saline or control, else the first label.

    >>> default_reference(["Ketamine", "Placebo"])
    'Placebo'
    """
    arms = _default_order(labels)          # not the display order: the default stays the placebo-like arm
    return arms[0] if arms else None


@dataclass(frozen=True)
class Message:
    """One validation finding, with where it is and what was expected.

    ``rows`` are row numbers as a spreadsheet shows them (the header is row 1).
    """

    level: str  # "error" | "warning" | "info"
    file: str
    text: str
    column: Optional[str] = None
    rows: tuple[int, ...] = ()
    value: Optional[str] = None
    expected: Optional[str] = None
    count: Optional[int] = None

    def __str__(self) -> str:
        where = [self.file]
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rows:
            where.append(_rows_text(self.rows, total=self.count))
        out = f"{self.level}: {', '.join(where)}: {self.text}"
        if self.value is not None:
            out += f" (found {self.value!r}"
            out += f"; expected {self.expected})" if self.expected else ")"
        elif self.expected:
            out += f" (expected {self.expected})"
        return out


def _rows_text(rows: Sequence[int], limit: int = 10, total: Optional[int] = None) -> str:
    """``rows 2, 3, 4 and 7 more``; ``total`` is the full number of rows when ``rows`` lists only the first."""
    rows = list(rows)
    n = max(total or 0, len(rows))
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {n - min(limit, len(rows))} more" if n > min(limit, len(rows)) else ""
    return f"row{'s' if n > 1 else ''} {shown}{more}"


@dataclass(frozen=True)
class ValidationReport:
    """All messages from reading one upload; errors stop the analysis, warnings do not."""

    messages: tuple[Message, ...] = ()
    #: For each table, the mapping from the user's column names to canonical names.
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: For each file of a typed format (SAS, Stata, SPSS, Dataset-JSON), its variables' metadata: one dict per
    #: column with ``column``, ``label``, ``format``, ``type`` and ``note`` (value labels used, dates read).
    variables: Mapping[str, Sequence[Mapping[str, str]]] = field(default_factory=dict)

    def variables_frame(self) -> pd.DataFrame:
        """The variables' metadata as one table (file, column, label, format, type, note, read as).

        >>> ValidationReport().variables_frame().columns.tolist()
        ['file', 'column', 'read as', 'label', 'format', 'type', 'note']
        """
        read_as = {k: v for m in self.mappings.values() for k, v in m.items()}
        rows = [[f, v.get("column", ""), read_as.get(v.get("column", ""), ""), v.get("label", ""),
                 v.get("format", ""), v.get("type", ""), v.get("note", "")]
                for f, vs in self.variables.items() for v in vs]
        return pd.DataFrame(rows, columns=["file", "column", "read as", "label", "format", "type", "note"])

    @property
    def errors(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.level == "error")

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.level == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        cols = ["level", "file", "column", "rows", "value", "expected", "count", "text"]
        return pd.DataFrame(
            [[m.level, m.file, m.column, ", ".join(map(str, m.rows)), m.value, m.expected, m.count, m.text]
             for m in self.messages],
            columns=cols,
        )


@dataclass(frozen=True)
class Trial:
    """A validated crossover trial: the long diary plus optional tables.

    ``diary`` has the columns of :data:`DIARY_COLUMNS` that are present: ``patient`` (str), ``period`` (int),
    ``treatment`` (str), ``day`` (int) and float outcomes with NaN for missing. Rows are sorted by patient,
    period and day; days outside 1..``period_days`` are kept (day <= 0 is a baseline) and ignored by the AUC.
    """

    diary: pd.DataFrame
    patients: Optional[pd.DataFrame] = None
    questionnaires: Optional[pd.DataFrame] = None
    adverse_events: Optional[pd.DataFrame] = None
    analgesics: Optional[pd.DataFrame] = None
    period_days: int = DEFAULT_PERIOD_DAYS
    source: str = ""
    simulated: bool = False

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns present in the diary, in canonical order."""
        return [c for c in OUTCOMES if c in self.diary.columns]

    @property
    def arms(self) -> list[str]:
        """Treatment labels in the stable order of :func:`order_arms` (a new list each time)."""
        return list(self._arms)

    @functools.cached_property
    def _arms(self) -> tuple[str, ...]:
        # computed once per Trial (a page asks for the arms many times per run; the diary never changes)
        return tuple(order_arms(self.diary["treatment"].unique()))

    @property
    def n_patients(self) -> int:
        return int(self.diary["patient"].nunique())

    def design(self) -> pd.DataFrame:
        """One row per patient-period: patient, period, treatment, sequence."""
        return patient_periods(self.diary)


#: Separators tried, in order, for a sequence's display label; the first that no arm label contains is used.
SEQUENCE_SEPARATORS: tuple[str, ...] = ("-", "|", "\u2192", "\u00b7")


def sequence_labels(sequences: Iterable[Sequence[str]]) -> dict[tuple[str, ...], str]:
    """Unambiguous display labels for sequences given as tuples of arms (period order).

    A sequence is identified by its tuple of arms (DESIGN.md section 3). Its label joins the arms with the first
    separator of :data:`SEQUENCE_SEPARATORS` that occurs in none of the trial's arm labels, so two different
    tuples never share a label; when every separator occurs in some label, each arm is quoted instead.

    >>> sequence_labels([("A", "B"), ("B", "A")])[("B", "A")]
    'B-A'
    >>> labels = sequence_labels([("a-b", "c", "a", "b-c"), ("a", "b-c", "a-b", "c")])
    >>> labels[("a-b", "c", "a", "b-c")], labels[("a", "b-c", "a-b", "c")]
    ('a-b|c|a|b-c', 'a|b-c|a-b|c')
    """
    seqs = {tuple(str(a) for a in s) for s in sequences}
    arms = {a for s in seqs for a in s}
    for sep in SEQUENCE_SEPARATORS:
        if not any(sep in a for a in arms):
            return {s: sep.join(s) for s in seqs}
    return {s: "(" + ", ".join(json.dumps(a, ensure_ascii=False) for a in s) + ")" for s in seqs}


def sequence_sort_key(seq: Sequence[str]) -> tuple[str, ...]:
    """Sequences sort by their tuple of arms, element by element in code-point order (R's C-locale radix order
    of the elements; a sequence that is a prefix of another comes first).

    >>> sorted([("B", "A"), ("A", "B", "C"), ("A", "B")], key=sequence_sort_key)
    [('A', 'B'), ('A', 'B', 'C'), ('B', 'A')]
    """
    return tuple(seq)


def patient_periods(diary: pd.DataFrame) -> pd.DataFrame:
    """One row per patient-period with its treatment and the patient's sequence.

    The sequence is the patient's treatments ordered by period, taken from the diary rows whether or not pain
    was recorded (DESIGN.md section 3); the column holds its unambiguous label (:func:`sequence_labels`).

    >>> d = pd.DataFrame({"patient": ["1", "1", "1"], "period": [2, 1, 1], "treatment": ["B", "A", "A"],
    ...                   "day": [1, 1, 2]})
    >>> patient_periods(d)
      patient  period treatment sequence
    0       1       1         A      A-B
    1       1       2         B      A-B
    """
    return patient_period_rows(diary)[0]


def patient_period_rows(diary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`patient_periods` and, for every diary row, the index of its patient-period in that table.

    The patients are factorised once (on the column's own array: no conversion of every label to a Python
    string), so the grid of a 20,000-patient diary does not hash the labels twice.

    >>> d = pd.DataFrame({"patient": ["2", "1", "1"], "period": [1, 2, 1], "treatment": ["B", "B", "A"]})
    >>> patient_period_rows(d)[1].tolist()
    [2, 1, 0]
    """
    pcode, puniq = pd.factorize(diary["patient"], sort=True)
    per_i = diary["period"].to_numpy(dtype=np.int64)
    key = pcode.astype(np.int64) * (int(per_i.max(initial=0)) + 1) + per_i
    # sorted by patient, then period; the first row of each, and each diary row's patient-period
    if len(key) and (key[1:] >= key[:-1]).all():  # a diary in patient, period order (as read): no sort
        new = np.empty(len(key), dtype=bool)
        new[0], new[1:] = True, key[1:] != key[:-1]
        first, row = np.flatnonzero(new), np.cumsum(new) - 1
    else:
        _, first, row = np.unique(key, return_index=True, return_inverse=True)
    trt = diary["treatment"].take(first).to_numpy()
    pp = pd.DataFrame({"patient": np.asarray(puniq.take(pcode[first]), dtype=object), "period": per_i[first],
                       "treatment": trt})
    pp["sequence"] = sequence_column(pcode[first], pp["treatment"].to_numpy())
    return pp, row.reshape(-1)


def sequence_column(patient_codes: np.ndarray, treatments: np.ndarray) -> np.ndarray:
    """Each row's sequence label, for rows sorted by patient (``patient_codes`` non-decreasing) then period.

    >>> sequence_column(np.array([0, 0, 1, 1]), np.array(["A", "B", "B", "A"], dtype=object)).tolist()
    ['A-B', 'A-B', 'B-A', 'B-A']
    """
    codes = np.asarray(patient_codes)
    if len(codes) == 0:
        return np.array([], dtype=object)
    bounds = np.flatnonzero(np.diff(codes)) + 1
    edges = np.concatenate([[0], bounds, [len(codes)]]).tolist()
    trt = np.asarray(treatments).astype(str).tolist()      # list slices: far cheaper than np.split per patient
    tuples = [tuple(trt[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    labels = sequence_labels(set(tuples))  # the distinct sequences: a handful, not one per patient
    counts = np.diff(edges)
    return np.repeat(np.array([labels[t] for t in tuples], dtype=object), counts)
