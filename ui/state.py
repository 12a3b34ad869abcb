"""Settings: their keys (in ONE place), defaults, validation of URL values, and the session <-> URL mirror.

Every setting lives in ``st.session_state`` under the key in :data:`SETTINGS` and is mirrored into the URL
query string under its ``param`` name, so a copied URL restores the view:

=================  ================  =========================================================
session key        query param       values
=================  ================  =========================================================
``dataset``        ``data``          ``bundled`` (default) | ``upload``
``outcome``        ``outcome``       ``pain_average`` (default) | ``pain_max`` | ``pain_night``
``horizon``        ``horizon``       whole day 2..D (default 35)
``policy``         ``missing``       ``locf`` (default) | ``complete`` | ``interpolate``
``reference``      ``ref``           an arm label (default: placebo-like arm, else the first)
``carryover``      ``carryover``     ``exclude`` (default) | ``include`` | ``auto``
``log``            ``log``           ``0`` (default) | ``1``
``period_days``    ``days``          period length D, 2..366 (default 35)
``threshold``      ``threshold``     responder threshold ``any`` (default) | ``30`` | ``50``
``patient``        ``patient``       patient shown in the drill-down (default: the first)
``highlight``      ``highlight``     patients highlighted on the spaghetti plot (repeatable)
``scale``          ``scale``         questionnaire scale plotted per patient, ``instrument / scale``
                                     (default: the first scale of the data)
``adjust_baseline`` ``adjust``       questionnaire models adjusted for the baseline value: ``0`` | ``1``
``screened``       ``screened``      patients screened (participant flow; default: not given)
``refused``        ``refused``       patients who refused (default: not given)
``ineligible``     ``ineligible``    patients not eligible (default: not given)
``lab_settings``   ``lab``           the Teaching lab's trial settings (:func:`ketapain_core.lab.to_query`)
``lab_seed``       ``seed``          the Teaching lab's seed (default 1); ``data=lab`` makes its trial active
``arm_display``    ``arms``          display order and labels of the arms, JSON ``[[name, label], ...]`` in
                                     display order (default: none; the reference is always shown first;
                                     :mod:`ketapain_core.arms`)
=================  ================  =========================================================

Only values that differ from the default are written to the URL. A URL value is read once, when a session
starts; one that is not valid is ignored and the user is told (:func:`notices`). Values that depend on the
data (outcome present, horizon <= D, reference among the arms, patients) are checked again whenever the data
change (:func:`reconcile`).

Uploaded files live here too, as bytes in ``st.session_state`` (never on disk), and in the server's
in-memory :mod:`ui.upload_store` under an unguessable token that the URL carries as ``upload=TOKEN``, so a
reload (a new session) gets them back until they expire; then the user is told, and the bundled data are shown.

When the data change within a session (an upload, a removal, another dataset), settings that do not apply to
the new data (reference arm, patient, highlighted patients, questionnaire scale) return to their defaults
quietly; a value from a link that does not fit the data is still reported (:func:`reconcile`).

The arms' display order and labels (:data:`ARM_DISPLAY`) are display only: the reference setting keeps the arm's
name as written in the data, and :func:`arm_display` turns the setting into the
:class:`ketapain_core.arms.ArmDisplay` the sidebar applies to the trial every page sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import json

import streamlit as st

from ketapain_core import arms as _arms
from ketapain_core.analysis import AnalysisSettings
from ketapain_core.crossover import CARRYOVER_MODES
from ketapain_core.effects import RESPONDER_THRESHOLDS
from ketapain_core.missing import POLICIES
from ketapain_core.schema import (DEFAULT_HORIZON, DEFAULT_OUTCOME, DEFAULT_PERIOD_DAYS, DEFAULT_POLICY, OUTCOMES,
                                  Trial, default_reference)

from . import cache, context
from .upload_store import STORE as UPLOADS

# ---- session keys: settings (widgets use these keys) -------------------------------------------------------
DATASET = "dataset"
OUTCOME = "outcome"
HORIZON = "horizon"
POLICY = "policy"
REFERENCE = "reference"
CARRYOVER = "carryover"
LOG = "log"
PERIOD_DAYS = "period_days"
THRESHOLD = "threshold"
PATIENT = "patient"
HIGHLIGHT = "highlight"
SCALE = "scale"
ADJUST_BASELINE = "adjust_baseline"
SCREENED = "screened"
REFUSED = "refused"
INELIGIBLE = "ineligible"
RESPONDER_VIEW = "responder_view"   # which closer look the Responders page shows (issue [13])
PRIMARY_SECTION = "primary_section" # which section (tab) of the Primary page is open (issue [11])
RESPONDER_SECTION = "responder_section"  # which section (tab) of the Responders page is open (issue [11])
LAB_QUERY = "lab_settings"
LAB_SEED = "lab_seed"
ARM_DISPLAY = "arm_display"         # display order and labels of the arms (issue [14]): ((name, label), ...)

# ---- session keys: other state ---------------------------------------------------------------------------------
UPLOADER = "upload_widget"          # prefix of the st.file_uploader widget's key (see uploader_key)
_UPLOADER_N = "_uploader_n"         # bumped to give the uploader a new key, which empties it
UPLOAD_FILES = "upload_files"       # tuple of (name, bytes) of the current upload
UPLOAD_DIGEST = "upload_digest"     # sha256 of the upload's names and bytes
_URL_READ = "_url_read"             # the URL has been read into the session
_NOTICES = "_notices"               # messages about URL values that were not used
UPLOAD_TOKEN = "upload_token"       # token of the upload in the server's store (ui.upload_store), in the URL
_DATA_SEEN = "_data_seen"           # data key of the previous run (a change resets data-dependent settings)
ARM_PROBLEMS = "_arm_problems"      # what was wrong with the arm labels last typed (the Data and design page)
#: Query parameter of the upload token.
UPLOAD_PARAM = "upload"

BUNDLED, UPLOAD, LAB = "bundled", "upload", "lab"
DATASETS = (BUNDLED, UPLOAD, LAB)
THRESHOLDS = tuple(RESPONDER_THRESHOLDS)
#: The Responders page's closer looks (issue [13]): URL value -> label.
RESPONDER_VIEWS = {"chance": "Every count against chance", "noise": "Beyond their own noise",
                   "keeps": "Who keeps it", "predicts": "What predicts it"}
#: The Primary page's sections, one tab each; only the open one is built (issue [11]). URL ``section``.
PRIMARY_SECTIONS = ("Per-patient AUC", "Mixed model", "Effect sizes", "Diagnostics")
#: The Responders page's sections (URL ``rsection``).
RESPONDER_SECTIONS = ("Responder counts", "Fig. 4", "A closer look", "Patient drill-down")
MAX_PERIOD_DAYS = 366
MAX_COUNT = 1_000_000
#: Longest URL value read (characters); a longer one is ignored, with a notice, before any other work.
MAX_URL_VALUE = 200
#: Most values read for a repeatable parameter (``highlight``).
MAX_URL_VALUES = 100
#: Most characters of a rejected URL value echoed in a notice.
URL_ECHO = 60
#: Separator of instrument and scale in the ``scale`` setting (and its URL value).
SCALE_SEP = " / "


def _choice(options: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text
    return parse


def _int_between(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise ValueError(f"expected a whole number from {lo} to {hi}") from None
        if not lo <= v <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return v
    return parse


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1 or 0")


def _threshold(text: str) -> str:
    t = text.strip().lower().rstrip("%")
    if t == "any":
        return "any"
    if t in ("30", "50"):
        return f"{t}%"
    raise ValueError("expected any, 30 or 50")


def _text(text: str) -> str:
    t = text.strip()
    if not t or len(t) > 200:
        raise ValueError("expected a non-empty label")
    return t


def _arm_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """The ``arms`` URL value: a JSON list of ``[name in the data, display label]`` pairs in display order.

    >>> _arm_pairs('[["Saline","Placebo"],["Low dose","Low"]]')
    (('Saline', 'Placebo'), ('Low dose', 'Low'))
    """
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError("expected a list of [arm, label] pairs") from None
    if (not isinstance(value, list) or not value or len(value) > _arms.MAX_ARMS
            or not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value)):
        raise ValueError(f"expected a list of 1 to {_arms.MAX_ARMS} [arm, label] pairs")
    names = [p[0] for p in value]
    labels, problems = _arms.check_labels(names, [p[1] for p in value])
    if problems:
        raise ValueError(problems[0])
    if len(set(names)) != len(names):
        raise ValueError("an arm is listed twice")
    return tuple(zip(names, labels))


def _dump_arm_pairs(pairs: Sequence[Sequence[str]]) -> str:
    return json.dumps([list(p) for p in pairs], ensure_ascii=False, separators=(",", ":"))


def _lab_query(text: str) -> str:
    from ketapain_core.lab import from_query, lab_settings

    lab_settings(**from_query(text))         # ValueError with the reason when the settings are not valid
    return text


@dataclass(frozen=True)
class Setting:
    """One setting: session key, query-param name, default, parser of URL text, writer of URL text."""

    key: str
    param: str
    default: Any
    parse: Callable[[str], Any]
    dump: Callable[[Any], str] = str
    multi: bool = False
    max_len: int = MAX_URL_VALUE


SETTINGS: tuple[Setting, ...] = (
    Setting(DATASET, "data", BUNDLED, _choice(DATASETS)),
    Setting(OUTCOME, "outcome", DEFAULT_OUTCOME, _choice(OUTCOMES)),
    Setting(HORIZON, "horizon", DEFAULT_HORIZON, _int_between(2, MAX_PERIOD_DAYS)),
    Setting(POLICY, "missing", DEFAULT_POLICY, _choice(tuple(POLICIES))),
    Setting(REFERENCE, "ref", None, _text),
    Setting(CARRYOVER, "carryover", "exclude", _choice(CARRYOVER_MODES)),
    Setting(LOG, "log", False, _bool, lambda v: "1" if v else "0"),
    Setting(PERIOD_DAYS, "days", DEFAULT_PERIOD_DAYS, _int_between(2, MAX_PERIOD_DAYS)),
    Setting(THRESHOLD, "threshold", "any", _threshold, lambda v: str(v).rstrip("%")),
    Setting(PATIENT, "patient", None, _text),
    Setting(HIGHLIGHT, "highlight", [], _text, multi=True),
    Setting(SCALE, "scale", None, _text),
    Setting(ADJUST_BASELINE, "adjust", False, _bool, lambda v: "1" if v else "0"),
    Setting(SCREENED, "screened", None, _int_between(0, MAX_COUNT)),
    Setting(REFUSED, "refused", None, _int_between(0, MAX_COUNT)),
    Setting(INELIGIBLE, "ineligible", None, _int_between(0, MAX_COUNT)),
    Setting(RESPONDER_VIEW, "view", "chance", _choice(tuple(RESPONDER_VIEWS))),
    Setting(PRIMARY_SECTION, "section", PRIMARY_SECTIONS[0], _choice(PRIMARY_SECTIONS)),
    Setting(RESPONDER_SECTION, "rsection", RESPONDER_SECTIONS[0], _choice(RESPONDER_SECTIONS)),
    Setting(LAB_QUERY, "lab", "", _lab_query),
    Setting(LAB_SEED, "seed", 1, _int_between(0, 2 ** 31 - 1)),
    Setting(ARM_DISPLAY, "arms", None, _arm_pairs, _dump_arm_pairs,
            max_len=_arms.MAX_ARMS * (2 * MAX_URL_VALUE + 8)),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
#: Session key -> query-param name.
PARAMS: dict[str, str] = {s.key: s.param for s in SETTINGS}

#: Policies in the order the sidebar shows them: LOCF and complete case first (the paper's two), then the rest.
POLICY_ORDER: tuple[str, ...] = tuple(["locf", "complete"] + [p for p in POLICIES if p not in ("locf", "complete")])


# ---- reading the URL, keeping settings alive, writing the URL --------------------------------------------------
def parse_query(query: dict[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """Validate query-string values: ``({session key: value}, [notices about rejected values])``.

    Pure (no Streamlit), so it is tested directly.

    >>> parse_query({"missing": ["complete"], "horizon": ["abc"], "highlight": ["P01", "P02"]})
    ({'policy': 'complete', 'highlight': ['P01', 'P02']}, ["URL parameter horizon='abc' ignored: expected a whole number from 2 to 366"])
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    for s in SETTINGS:
        raw = query.get(s.param)
        if not raw:
            continue
        raw = [str(r) for r in raw] if s.multi else [str(raw[-1])]
        too_long = next((r for r in raw if len(r) > s.max_len), None)
        if too_long is not None or len(raw) > MAX_URL_VALUES:
            if too_long is not None:
                notes.append(f"URL parameter {s.param} ignored: its value is too long ({len(too_long):,} characters; "
                             f"at most {s.max_len}). It began {_echo(too_long)}")
            else:
                notes.append(f"URL parameter {s.param} ignored: {len(raw):,} values given (at most {MAX_URL_VALUES}).")
            continue
        try:
            if s.multi:
                items = [x for r in raw for x in r.split(",") if x.strip()]
                values[s.key] = list(dict.fromkeys(s.parse(x) for x in items))
            else:
                values[s.key] = s.parse(raw[-1])
        except ValueError as exc:
            shown = raw if s.multi else raw[-1]
            notes.append(f"URL parameter {s.param}={shown!r} ignored: {exc}")
    return values, notes


def _echo(text: str) -> str:
    """A rejected value, quoted, cut to :data:`URL_ECHO` characters (the page escapes it when shown).

    >>> _echo("x" * 100)[-4:], len(_echo("x" * 100))
    ("xx'…", 63)
    """
    return repr(text[:URL_ECHO]) + ("…" if len(text) > URL_ECHO else "")


def _query_dict() -> dict[str, list[str]]:
    qp = st.query_params
    return {k: list(qp.get_all(k)) for k in qp.keys()}


def init() -> None:
    """Start of every run: read the URL once per session, fill defaults, keep every setting alive.

    Re-assigning each setting to itself stops Streamlit from dropping the value of a widget that is not drawn
    in this run (page-specific widgets such as the drill-down patient), so settings persist across pages.
    """
    ss = st.session_state
    if not ss.get(_URL_READ):
        values, notes = parse_query(_query_dict())
        for k, v in values.items():
            ss[k] = v
        token = (st.query_params.get_all(UPLOAD_PARAM) or [None])[-1]
        if token and not ss.get(UPLOAD_FILES):
            files = UPLOADS.get(str(token)[:MAX_URL_VALUE])
            if files:
                _keep_upload(files, str(token))
            else:
                expired = UPLOADS.status(str(token)[:MAX_URL_VALUE]) == "expired"
                notes.append(("Your uploaded files have expired: this server keeps an upload in memory for "
                              f"{UPLOADS.ttl / 3600:g} hours after its last use, and never on disk. "
                              if expired else "The uploaded files of this link are not on this server (it may "
                              "have restarted; uploads are kept in memory only). ")
                             + "Showing the bundled simulated dataset: upload your files again on the Data "
                               "and design page.")
                values.pop(DATASET, None)
                ss[DATASET] = BUNDLED
        if ss.get(DATASET) == UPLOAD and not ss.get(UPLOAD_FILES):
            ss[DATASET] = BUNDLED
            if not token:
                notes.append("The link asked for uploaded data, which a link cannot carry: showing the bundled "
                             "simulated dataset. Upload your files on the Data and design page.")
        if RESPONDER_SECTION not in values:       # a link to a closer look or to a patient opens that section
            if RESPONDER_VIEW in values:
                ss[RESPONDER_SECTION] = RESPONDER_SECTIONS[2]
            elif PATIENT in values:
                ss[RESPONDER_SECTION] = RESPONDER_SECTIONS[3]
        ss[_NOTICES] = notes
        ss[_URL_READ] = True
    for s in SETTINGS:
        if s.key in ss:
            ss[s.key] = ss[s.key]
        else:
            ss[s.key] = list(s.default) if s.multi else s.default


def notices() -> list[str]:
    """Messages about settings that could not be used (shown once, then cleared)."""
    return list(st.session_state.get(_NOTICES, []))


def clear_notices() -> None:
    st.session_state[_NOTICES] = []


def add_notice(text: str) -> None:
    st.session_state.setdefault(_NOTICES, [])
    st.session_state[_NOTICES] = [*st.session_state[_NOTICES], text]


def reconcile(trial: Optional[Trial], data_key: Optional[str] = None) -> None:
    """Check the settings that depend on the data and reset those that do not fit (with a notice).

    Called by the sidebar before any widget is drawn, on every run (cheap).
    """
    if trial is None:
        return
    ss = st.session_state
    seen = ss.get(_DATA_SEEN)
    ss[_DATA_SEEN] = data_key
    if seen is not None and data_key is not None and seen != data_key:
        _reset_for_new_data(trial, data_key)
    if data_key is not None:
        reconcile_scale(scale_options(trial, data_key))
    outs = trial.outcomes
    if ss[OUTCOME] not in outs:
        add_notice(f"Outcome {ss[OUTCOME]!r} is not in these data; showing {outs[0]!r}.")
        ss[OUTCOME] = outs[0]
    d = trial.period_days
    if not 2 <= int(ss[HORIZON]) <= d:
        new = min(max(int(ss[HORIZON]), 2), d)
        add_notice(f"Horizon day {ss[HORIZON]} is outside days 2-{d} of these data; using day {new}.")
        ss[HORIZON] = new
    arms = trial.arms
    if ss[REFERENCE] is None or ss[REFERENCE] not in arms:
        if ss[REFERENCE] is not None:
            add_notice(f"Reference arm {ss[REFERENCE]!r} is not among the arms ({', '.join(arms)}); "
                       f"using {default_reference(arms)!r}.")
        ss[REFERENCE] = default_reference(arms)
    patients = patient_list(trial)
    if ss[PATIENT] is None or ss[PATIENT] not in patients:
        if ss[PATIENT] is not None:
            add_notice(f"Patient {ss[PATIENT]!r} is not in these data.")
        ss[PATIENT] = patients[0] if patients else None
    pairs = ss.get(ARM_DISPLAY)
    if pairs:
        fit = tuple((a, lab) for a, lab in pairs if a in set(arms))
        if fit != tuple(tuple(p) for p in pairs):
            add_notice("Arm labels for arms not in these data were dropped: "
                       + ", ".join(repr(a) for a, _ in pairs if a not in set(arms)))
            ss[ARM_DISPLAY] = _fitting_pairs(fit)
    hl = [p for p in ss[HIGHLIGHT] if p in set(patients)]
    if hl != list(ss[HIGHLIGHT]):
        add_notice("Highlighted patients not in these data were dropped: "
                   + ", ".join(p for p in ss[HIGHLIGHT] if p not in set(patients)))
        ss[HIGHLIGHT] = hl


def _reset_for_new_data(trial: Trial, data_key: str) -> None:
    """New data in this session: the settings that do not apply to them go back to their defaults, quietly."""
    ss = st.session_state
    d = _defaults(trial, data_key)
    if ss[REFERENCE] not in trial.arms:
        ss[REFERENCE] = d[REFERENCE]
    if ss.get(ARM_DISPLAY) and set(a for a, _ in ss[ARM_DISPLAY]) != set(trial.arms):
        ss[ARM_DISPLAY] = None
    ss[ARM_PROBLEMS] = []
    patients = set(patient_list(trial))
    if ss[PATIENT] not in patients:
        ss[PATIENT] = d[PATIENT]
    ss[HIGHLIGHT] = [p for p in ss[HIGHLIGHT] if p in patients]
    if ss.get(SCALE) not in scale_options(trial, data_key):
        ss[SCALE] = d[SCALE]
    if ss[OUTCOME] not in trial.outcomes:
        ss[OUTCOME] = trial.outcomes[0]
    if not 2 <= int(ss[HORIZON]) <= trial.period_days:
        ss[HORIZON] = d[HORIZON]


def reset_to_defaults() -> None:
    """Every setting back to its default for the current data (the sidebar's "Reset to defaults" button);
    the dataset, the upload and the period length are kept."""
    ss = st.session_state
    ctx = context.current()
    trial = getattr(ctx, "trial", None)
    d = _defaults(trial, getattr(ctx, "data_key", None))
    if getattr(ctx, "raw_arms", ()):
        d[REFERENCE] = default_reference(ctx.raw_arms)      # the trial shows display labels; the setting is a name
    for s in SETTINGS:
        if s.key in (DATASET, PERIOD_DAYS):
            continue
        v = d[s.key]
        ss[s.key] = list(v) if s.multi else v
    ss[ARM_PROBLEMS] = []


def _fitting_pairs(pairs: tuple[tuple[str, str], ...]) -> Optional[tuple[tuple[str, str], ...]]:
    """What is left of the arms' display setting once arms not in the data are dropped: ``None`` when nothing is
    left or the labels left collide."""
    if not pairs or _arms.check_labels([a for a, _ in pairs], [lab for _, lab in pairs])[1]:
        return None
    return pairs


def arm_display(trial: Trial) -> _arms.ArmDisplay:
    """The display order and labels of the trial's arms (the reference first, then the order and the labels
    the user chose; :func:`ketapain_core.arms.arm_display`)."""
    pairs = st.session_state.get(ARM_DISPLAY) or ()
    return _arms.arm_display(trial.arms, st.session_state.get(REFERENCE), [a for a, _ in pairs], dict(pairs))


def set_arm_display(pairs: Optional[Sequence[tuple[str, str]]]) -> None:
    """Keep the arms' display order and labels (names in the data, labels; display order), or ``None``: the
    default. The caller checks the labels first (:func:`ketapain_core.arms.check_labels`)."""
    st.session_state[ARM_DISPLAY] = tuple((str(a), str(lab)) for a, lab in pairs) if pairs else None


def ss_reference() -> Optional[str]:
    """The reference arm's name as written in the data (the setting; the trial the pages see shows its label)."""
    return st.session_state.get(REFERENCE)


def arm_widget_key(kind: str, arm: str) -> str:
    """Key of a widget of the arms' form (``pos`` or ``label``) for one arm, by a hash of its name (the name is
    untrusted text of any length)."""
    import hashlib

    return f"_arm_{kind}_{hashlib.sha256(str(arm).encode('utf-8')).hexdigest()[:12]}"


def prime_arm_form(display: _arms.ArmDisplay) -> None:
    """Give the arms' form widgets the current order and labels (before drawing them): a form's widgets change
    only when it is submitted, so this shows what is applied (after a new reference, a reset, new data). When
    the labels last typed were refused, the form keeps them, so the user can correct them."""
    ss = st.session_state
    keep = bool(ss.get(ARM_PROBLEMS))
    for i, (arm, lab) in enumerate(zip(display.order, display.labels)):
        for key, value in ((arm_widget_key("pos", arm), i + 1), (arm_widget_key("label", arm), lab)):
            if not (keep and key in ss):
                ss[key] = value


def apply_arm_form(order: tuple[str, ...]) -> None:
    """Callback of the arms' form: the positions and labels typed become the display order and labels (the
    reference stays first), or the problems with the labels are kept for the page to show (nothing applied)."""
    ss = st.session_state
    ref = ss.get(REFERENCE)
    pos = {a: int(ss.get(arm_widget_key("pos", a), i + 1)) for i, a in enumerate(order)}
    new = sorted(order, key=lambda a: (a != ref, pos[a], order.index(a)))
    labels, problems = _arms.check_labels(new, [ss.get(arm_widget_key("label", a), a) for a in new])
    ss[ARM_PROBLEMS] = problems
    if problems:
        return
    pairs = tuple(zip(new, labels))
    default = _arms.arm_order(new, ref)
    set_arm_display(None if tuple(new) == default and all(a == lab for a, lab in pairs) else pairs)
    for i, (a, lab) in enumerate(pairs):
        ss[arm_widget_key("pos", a)] = i + 1
        ss[arm_widget_key("label", a)] = lab


def reset_arm_display(order: tuple[str, ...]) -> None:
    """Callback: the arms back to the data's names and default order (the reference first)."""
    ss = st.session_state
    set_arm_display(None)
    ss[ARM_PROBLEMS] = []
    for a in order:
        ss.pop(arm_widget_key("pos", a), None)
        ss.pop(arm_widget_key("label", a), None)


def scale_label(instrument: str, scale: str) -> str:
    """The ``scale`` setting's value for one questionnaire scale.

    >>> scale_label("NPSI", "burning")
    'NPSI / burning'
    """
    return f"{instrument}{SCALE_SEP}{scale}"


def reconcile_scale(options: Sequence[str]) -> Optional[str]:
    """Check the chosen questionnaire scale against the data's scales (from :func:`reconcile`, before any widget
    is drawn): a scale that is not in the data is replaced by the first, with a notice. No questionnaires: the
    setting is left as it is."""
    ss = st.session_state
    cur = ss.get(SCALE)
    if not options:
        return None
    if cur not in options:
        if cur is not None:
            add_notice(f"Scale {cur!r} is not in these questionnaires; showing {options[0]!r}.")
        ss[SCALE] = options[0]
    return ss[SCALE]


def patient_list(trial: Trial) -> list[str]:
    """The trial's patients, sorted as text (the order every table and figure uses)."""
    return sorted(str(p) for p in trial.diary["patient"].unique())


def _defaults(trial: Optional[Trial], data_key: Optional[str] = None) -> dict[str, Any]:
    out = {s.key: s.default for s in SETTINGS}
    if trial is not None:
        out[REFERENCE] = default_reference(trial.arms)
        patients = patient_list(trial)
        out[PATIENT] = patients[0] if patients else None
        out[HORIZON] = min(DEFAULT_HORIZON, trial.period_days)
        out[SCALE] = next(iter(scale_options(trial, data_key)), None)
    return out


def scale_options(trial: Trial, data_key: Optional[str] = None) -> list[str]:
    """The ``scale`` setting's possible values for these data (``instrument / scale``, in the table's order).

    Cached on the data key (by default the current context's)."""
    q = trial.questionnaires
    if q is None or len(q) == 0:
        return []
    if data_key is None:
        ctx = context.current()
        data_key = getattr(ctx, "data_key", None) if getattr(ctx, "trial", None) is trial else None
    pairs = cache.scales(data_key, q) if data_key else cache.scale_pairs(q)
    return [scale_label(i, sc) for i, sc in pairs]


def desired_query(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The query string for these settings: only values that differ from their default.

    >>> desired_query({"policy": "complete", "horizon": 35, "log": True}, {"policy": "locf", "horizon": 35, "log": False})
    {'missing': 'complete', 'log': '1'}
    """
    out: dict[str, Any] = {}
    for s in SETTINGS:
        if s.key not in values:
            continue
        v = values[s.key]
        if v is None or v == defaults.get(s.key):
            continue
        if s.multi:
            if v:
                out[s.param] = [s.dump(x) for x in v]
        else:
            out[s.param] = s.dump(v)
    return out


def write_url(trial: Optional[Trial]) -> None:
    """End of every run: mirror the settings into the query string (only when something changed)."""
    ss = st.session_state
    want = desired_query({s.key: ss.get(s.key) for s in SETTINGS}, _defaults(trial))
    if ss.get(DATASET) == UPLOAD and ss.get(UPLOAD_TOKEN):
        want[UPLOAD_PARAM] = ss[UPLOAD_TOKEN]
    have = _query_dict()
    norm_want = {k: (v if isinstance(v, list) else [v]) for k, v in want.items()}
    if norm_want != have:
        st.query_params.from_dict(want)


# ---- uploads ---------------------------------------------------------------------------------------------------
def files_digest(files: Sequence[tuple[str, bytes]]) -> str:
    """SHA-256 over the files' names and bytes: the cache key of an upload (the content, not just a name).

    The same fingerprint as the reports' and the audit log's (:func:`ketapain_core.export.sha256_of`).

    >>> files_digest([("a.csv", b"x")]) == files_digest([("a.csv", b"x")]) != files_digest([("a.csv", b"y")])
    True
    """
    from ketapain_core.export import sha256_of

    return sha256_of(files)


def uploader_key() -> str:
    """Key of the file uploader; it changes when the upload is removed, so the widget starts empty again."""
    return f"{UPLOADER}-{st.session_state.get(_UPLOADER_N, 0)}"


def on_upload(key: str) -> None:
    """Callback of the file uploader: keep the files' bytes in the session and switch to them."""
    ss = st.session_state
    uploaded = ss.get(key) or []
    if not isinstance(uploaded, list):
        uploaded = [uploaded]
    files = tuple((f.name, f.getvalue()) for f in uploaded)
    if files:
        UPLOADS.drop(ss.get(UPLOAD_TOKEN))
        _keep_upload(files, UPLOADS.put(files))
    else:
        clear_upload(reset_widget=False)


def _keep_upload(files: tuple[tuple[str, bytes], ...], token: str) -> None:
    ss = st.session_state
    ss[UPLOAD_FILES] = files
    ss[UPLOAD_DIGEST] = files_digest(files)
    ss[UPLOAD_TOKEN] = token or None
    ss[DATASET] = UPLOAD


def clear_upload(reset_widget: bool = True) -> None:
    """Forget the uploaded files, go back to the bundled dataset and (by default) empty the uploader."""
    ss = st.session_state
    ss.pop(UPLOAD_FILES, None)
    ss.pop(UPLOAD_DIGEST, None)
    UPLOADS.drop(ss.pop(UPLOAD_TOKEN, None))
    ss[DATASET] = BUNDLED
    if reset_widget:
        ss[_UPLOADER_N] = int(ss.get(_UPLOADER_N, 0)) + 1


def upload_files() -> tuple[tuple[str, bytes], ...]:
    return tuple(st.session_state.get(UPLOAD_FILES) or ())


def settings_from_session(trial: Trial, display: Optional[_arms.ArmDisplay] = None) -> AnalysisSettings:
    """The analysis settings of the session; with ``display``, the reference under its display label (the
    trial the pages see carries the display labels)."""
    ss = st.session_state
    reference = display.label(ss[REFERENCE]) if display is not None else ss[REFERENCE]
    return AnalysisSettings(outcome=ss[OUTCOME], policy=ss[POLICY], horizon=int(ss[HORIZON]),
                            period_days=trial.period_days, reference=reference, carryover=ss[CARRYOVER],
                            log=bool(ss[LOG]))
