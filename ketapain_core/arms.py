"""Display order and display labels of the arms (issue [14], item 5): the one owner of both.

A user may show the arms of a trial in another order and under other names (``Saline`` shown as ``Placebo``,
``High dose`` before ``Low dose``). This is display only: :func:`display_trial` renames the diary's treatment
values and :func:`arm_order` gives the order every table and figure uses (through
:func:`ketapain_core.schema.display_order`); the AUCs, the model and every estimate are those of the data as
written, and a pairwise contrast a - b follows the display order (later arm minus earlier, each arm minus the
reference, as before). The files themselves are never changed.

Labels are untrusted text: :func:`check_labels` cleans them (:func:`ketapain_core.textsafe.clean_label`),
bounds them to :data:`MAX_LABEL` characters and refuses empty or repeated labels, with a message per problem.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from .schema import Trial, _default_order, order_arms
from .textsafe import clean_label

#: Longest display label (characters).
MAX_LABEL = 40
#: Most arms a display mapping covers (a trial with more arms keeps its own names for the rest).
MAX_ARMS = 26


@dataclass(frozen=True)
class ArmDisplay:
    """How the arms are shown: ``order`` (the arms as written in the data, in display order) and ``labels``
    (the label of each, same order). The identity (:meth:`identity`) shows the data's names in the default order.

    >>> d = ArmDisplay(order=("Saline", "Low dose", "High dose"), labels=("Placebo", "Low", "High"))
    >>> d.label("Low dose"), d.mapping()["Saline"], d.shown_order
    ('Low', 'Placebo', ('Placebo', 'Low', 'High'))
    """

    order: tuple[str, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.order) != len(self.labels):
            raise ValueError("an arm display needs one label per arm")

    @classmethod
    def identity(cls, arms: Sequence[str]) -> "ArmDisplay":
        """The data's names, in the given order.

        >>> ArmDisplay.identity(["Placebo", "Drug"]).is_renaming
        False
        """
        return cls(order=tuple(arms), labels=tuple(arms))

    def mapping(self) -> dict[str, str]:
        """Name in the data -> display label."""
        return dict(zip(self.order, self.labels))

    def name_of(self, label: Optional[str]) -> Optional[str]:
        """The arm's name in the data for a display label (itself when it is no label).

        >>> ArmDisplay(("Saline", "Drug"), ("Placebo", "Drug")).name_of("Placebo")
        'Saline'
        """
        return dict(zip(self.labels, self.order)).get(label, label) if label is not None else None

    def label(self, arm: str) -> str:
        """The display label of an arm as written in the data (itself when it has none)."""
        return self.mapping().get(str(arm), str(arm))

    @property
    def shown_order(self) -> tuple[str, ...]:
        """The display labels in display order (the order :func:`ketapain_core.schema.order_arms` is given)."""
        return self.labels

    @property
    def is_renaming(self) -> bool:
        """Whether any label differs from the arm's name in the data."""
        return any(a != b for a, b in zip(self.order, self.labels))

    def signature(self) -> str:
        """A short fingerprint (for cache keys): equal displays, equal signatures.

        >>> ArmDisplay(("A", "B"), ("A", "B")).signature() != ArmDisplay(("B", "A"), ("B", "A")).signature()
        True
        """
        text = json.dumps([self.order, self.labels], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def check_labels(arms: Sequence[str], labels: Sequence[object]) -> tuple[tuple[str, ...], list[str]]:
    """Clean the display labels of ``arms`` and list what is wrong with them: ``(cleaned labels, problems)``.

    A label is cleaned (control and invisible characters removed, spaces folded, :func:`clean_label`); an empty
    label, one over :data:`MAX_LABEL` characters, or one used for two arms is a problem (the labels are then not
    used); labels are compared ignoring case.

    >>> check_labels(["Saline", "Drug"], [" Placebo ", "Drug"])
    (('Placebo', 'Drug'), [])
    >>> check_labels(["Saline", "Drug"], ["drug", "Drug"])[1]
    ["The label 'drug' is given to more than one arm: each arm needs its own."]
    >>> check_labels(["Saline", "Drug"], ["Placebo", ""])[1]
    ["The label of 'Drug' is empty."]
    """
    cleaned = tuple(clean_label(str(x if x is not None else "")) for x in labels)
    problems: list[str] = []
    for arm, lab in zip(arms, cleaned):
        if not lab:
            problems.append(f"The label of {arm!r} is empty.")
        elif len(lab) > MAX_LABEL:
            problems.append(f"The label of {arm!r} has {len(lab)} characters; at most {MAX_LABEL}.")
    seen: dict[str, int] = {}
    for lab in cleaned:
        if lab:
            seen[lab.casefold()] = seen.get(lab.casefold(), 0) + 1
    repeated = {x.casefold(): x for x in reversed(cleaned) if x and seen[x.casefold()] > 1}
    for lab in repeated.values():
        problems.append(f"The label {lab!r} is given to more than one arm: each arm needs its own.")
    return cleaned, problems


def arm_order(arms: Sequence[str], reference: Optional[str], chosen: Sequence[str] = ()) -> tuple[str, ...]:
    """The display order: the reference first, then the arms of ``chosen`` (names in the data) in that order,
    then any other arm in the default order (:func:`ketapain_core.schema.order_arms`).

    >>> arm_order(["Saline", "High dose", "Low dose"], "Saline")
    ('Saline', 'High dose', 'Low dose')
    >>> arm_order(["Saline", "High dose", "Low dose"], "Saline", ["Low dose", "High dose"])
    ('Saline', 'Low dose', 'High dose')
    >>> arm_order(["Saline", "High dose", "Low dose"], "Low dose")
    ('Low dose', 'Saline', 'High dose')
    """
    present = list(arms)
    default = order_arms(present)
    head = [reference] if reference in present else []
    rest = [a for a in dict.fromkeys(str(c) for c in chosen) if a in present and a not in head]
    return tuple(head + rest + [a for a in default if a not in head and a not in rest])


def arm_display(arms: Sequence[str], reference: Optional[str], chosen: Sequence[str] = (),
                labels: Optional[Mapping[str, str]] = None) -> ArmDisplay:
    """The :class:`ArmDisplay` for these arms: :func:`arm_order` and the given labels (name in the data ->
    label; missing or invalid labels fall back to the names, see :func:`check_labels`).

    >>> arm_display(["Saline", "High dose", "Low dose"], "Saline", ["Low dose"], {"Saline": "Placebo"})
    ArmDisplay(order=('Saline', 'Low dose', 'High dose'), labels=('Placebo', 'Low dose', 'High dose'))
    """
    order = arm_order(arms, reference, chosen)
    given = dict(labels or {})
    cleaned, problems = check_labels(order, [given.get(a, a) for a in order])
    return ArmDisplay(order=order, labels=order if problems else cleaned)


def display_trial(trial: Trial, display: ArmDisplay) -> Trial:
    """The trial with its arms under their display labels (a new :class:`Trial`; the data are not changed
    otherwise). Only the diary carries the treatment; the other tables join it on patient and period.

    >>> import pandas as pd
    >>> t = Trial(diary=pd.DataFrame({"patient": ["1", "1"], "period": [1, 2], "treatment": ["Saline", "Drug"],
    ...                               "day": [1, 1], "pain_average": [5.0, 4.0]}))
    >>> display_trial(t, ArmDisplay(("Saline", "Drug"), ("Placebo", "Drug"))).diary["treatment"].tolist()
    ['Placebo', 'Drug']
    """
    if not display.is_renaming:
        return trial
    diary = trial.diary.copy()
    diary["treatment"] = diary["treatment"].astype(str).map(display.mapping()).fillna(diary["treatment"])
    shown = dataclasses.replace(trial, diary=diary)
    shown.__dict__.pop("_arms", None)
    return shown


#: Lines of generated code after which the display labels are applied (Python: the files read and checked;
#: R: the diary read), so code that reads the user's files shows the arms as the app does.
_PY_ANCHORS = ('sys.exit("the data cannot be analysed (errors above)")', "trial, report = read_")
_R_ANCHOR = "d <- read_diary(diary_file, rename)"


def display_code(code: str, display: Optional[ArmDisplay], language: str = "python") -> str:
    """Generated code (a "Show the code" snippet or a page's script) that applies the display labels right after
    reading the files, so its tables name the arms as the app does; unchanged when nothing is relabelled or
    reordered, or when the code does not read the diary.

    >>> code = "trial, report = read_trial(files, period_days=35)\\nprint(trial.arms)"
    >>> print(display_code(code, ArmDisplay(("Saline", "Drug"), ("Placebo", "Drug"))))
    trial, report = read_trial(files, period_days=35)
    from ketapain_core.arms import ArmDisplay, display_trial   # the app's display labels and order of the arms
    from ketapain_core.schema import set_display_order
    shown = ArmDisplay(order=('Saline', 'Drug'), labels=('Placebo', 'Drug'))
    trial = display_trial(trial, shown); set_display_order(shown.shown_order)
    print(trial.arms)
    """
    if display is None or not display.order or display == ArmDisplay.identity(_default_order(display.order)):
        return code
    lines = code.split("\n")
    if language == "R":
        from .snippets import r_string

        at = [i for i, ln in enumerate(lines) if ln.strip() == _R_ANCHOR]
        if not at or not display.is_renaming:
            return code
        pairs = ", ".join(f"{r_string(a)} = {r_string(lab)}" for a, lab in zip(display.order, display.labels))
        add = [f"labels <- c({pairs})   # the app's display labels of the arms",
               "d$treatment <- ifelse(d$treatment %in% names(labels), unname(labels[d$treatment]), d$treatment)"]
        return "\n".join(lines[:at[0] + 1] + add + lines[at[0] + 1:])
    at = next(([i for i, ln in enumerate(lines) if ln.strip().startswith(anchor)] for anchor in _PY_ANCHORS
               if any(ln.strip().startswith(anchor) for ln in lines)), [])
    if not at:
        return code
    i = at[-1]
    # after the exit of "if trial is None:" the code is back at the top level
    pad = "" if lines[i].strip().startswith(_PY_ANCHORS[0]) else lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    add = [f"{pad}from ketapain_core.arms import ArmDisplay, display_trial   # the app's display labels and order "
           "of the arms",
           f"{pad}from ketapain_core.schema import set_display_order",
           f"{pad}shown = ArmDisplay(order={tuple(display.order)!r}, labels={tuple(display.labels)!r})",
           f"{pad}trial = display_trial(trial, shown); set_display_order(shown.shown_order)"]
    return "\n".join(lines[:i + 1] + add + lines[i + 1:])
