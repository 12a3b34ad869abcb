"""Robustness and security of the app: degenerate uploads keep the Primary page usable, two sessions never see
each other's data, the server settings are safe, and there is no module-level mutable state in ui/ or pages/."""
from __future__ import annotations

import ast
import io
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apphelpers import ROOT, assert_clean, error_texts, frame_with, goto, section, start, tables, texts, upload

PAGE = "pages/primary.py"


def _csv(seqs, pain, days: int = 35) -> bytes:
    rows = [(f"P{i + 1:02d}", per, arm, d, pain(i, per, arm, d))
            for i, seq in enumerate(seqs) for per, arm in enumerate(seq, 1) for d in range(1, days + 1)]
    buf = io.StringIO()
    pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"]).to_csv(buf, index=False)
    return buf.getvalue().encode()


def _noisy(arms_effect: dict[str, float], seed: int = 0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1.5, 10_000)
    return lambda i, per, arm, d: float(np.clip(round(5 + arms_effect.get(arm, 0) + noise[i * 97 + per * 41 + d]),
                                                0, 10))


DEGENERATE = {
    # name: (upload, text that must be shown)
    "one_arm": (_csv([("A", "A")] * 6, _noisy({})), "only one arm (A)"),
    "exact_fit": (_csv([("A", "B"), ("B", "A")] * 4, lambda i, per, arm, d: 5 + (arm == "B")),
                  "fits the values exactly"),
    "single_patient_sequence": (_csv([("A", "B")] * 5 + [("B", "A")], _noisy({"B": 1}, 3)),
                                "1 sequence(s) have a single patient"),
    # issue [8]: every patient in the same order; an arm only ever compared with itself
    "one_sequence": (_csv([("A", "B")] * 6, _noisy({"B": 1}, 4)),
                     "treatment is confounded with period: every patient received the arms in the same order"),
    "partly_estimable": (_csv([("A", "B"), ("B", "A"), ("C", "C")] * 4, _noisy({"B": 1}, 5)),
                         "not estimable in these data: the omnibus treatment test"),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_upload_keeps_primary_page_usable(name):
    data, reason = DEGENERATE[name]
    at = start(PAGE)
    upload(at, [(f"{name}.csv", data)])
    goto(at, PAGE)
    assert_clean(at)
    body = texts(at).replace("\\", "")      # markdown escapes, e.g. "\\(A\\)"
    assert reason in body, body[:2000]
    assert "Model not estimable" in body or "use with caution" in body
    # only the model's own message may be an error: no block of the page failed
    assert all("Model not estimable" in e for e in error_texts(at)), error_texts(at)
    assert frame_with(at, "Mean ± SD") is not None            # the per-arm table is still shown
    if name == "partly_estimable":                             # blank numbers with the reason beside them
        con = frame_with(section(at, "Mixed model"), "p_sidak")
        assert con["estimate"].isna().sum() == 2 and con["reason"].str.contains("not estimable").sum() == 2
        assert "Omnibus test of treatment: **not estimable" in body or "Omnibus test of treatment: not estimable" in body
    at.sidebar.radio(key="policy").set_value("complete").run()  # and the page still reacts to settings
    assert_clean(at)
    assert reason in texts(at).replace("\\", "")


# ---- session isolation ------------------------------------------------------------------------------------------
def test_two_sessions_never_see_each_others_upload():
    a_csv = _csv([("Xarm", "Yarm"), ("Yarm", "Xarm")] * 4, _noisy({"Yarm": 2}, 1))
    b_csv = _csv([("Uarm", "Varm"), ("Varm", "Uarm")] * 5, _noisy({"Varm": -1}, 2))
    a, b = start(PAGE), start(PAGE)
    upload(a, [("diary.csv", a_csv)])          # same file name, different bytes: keys must be on content
    upload(b, [("diary.csv", b_csv)])
    goto(a, PAGE)
    goto(b, PAGE)
    seen = {}
    for _ in range(2):                          # interleaved reruns, with a setting changed in one session only
        for at, own, other, n in ((a, {"Xarm", "Yarm"}, {"Uarm", "Varm"}, 8), (b, {"Uarm", "Varm"}, {"Xarm", "Yarm"}, 10)):
            at.run()
            assert_clean(at)
            t2 = frame_with(at, "Mean ± SD")
            assert set(t2["Arm"]) == own and list(t2["n"]) == [n, n]
            body = texts(at)
            assert not any(o in body for o in other)
            assert not any(o in str(df.to_dict()) for df in tables(at) for o in other)
            seen.setdefault(id(at), []).append(t2["Mean ± SD"].tolist())
        a.sidebar.radio(key="policy").set_value("complete").run()
    # each session's numbers stay its own (and stable across reruns of the same settings)
    assert seen[id(a)][0] != seen[id(b)][0]
    assert seen[id(b)][0] == seen[id(b)][1]


# ---- server settings ----------------------------------------------------------------------------------------------
def test_streamlit_config_is_safe():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    from ketapain_core.io import Limits

    assert 0 < cfg["server"]["maxUploadSize"] <= 200
    assert cfg["server"]["maxUploadSize"] * 2**20 >= Limits().max_file_bytes  # the readers' own limit is reachable
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["client"]["showErrorDetails"] in ("none", False)
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"].get("headless", True) is True
    assert cfg["server"]["fileWatcherType"] == "none"        # a server watches no source files (issue [11])


# ---- no module-level mutable state ------------------------------------------------------------------------------
_MUTATORS = {"append", "extend", "insert", "update", "add", "pop", "popitem", "setdefault", "clear", "remove",
             "discard", "sort", "reverse", "__setitem__"}
_MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray"}


def _module_mutables(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        mutable = isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)) or (
            isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) in _MUTABLE_CALLS)
        if mutable:
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _mutated_names(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            out |= set(node.names)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name):
                    out.add(t.value.id)
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute):  # module.NAME[k] = v
                    out.add(t.value.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS \
                and isinstance(node.func.value, (ast.Name, ast.Attribute)):
            v = node.func.value
            out.add(v.id if isinstance(v, ast.Name) else v.attr)
    return out


def test_no_module_level_mutable_state():
    """Module-level containers in ui/ (imported once per server process, so shared by every session) are never
    mutated, from anywhere; page scripts and app.py run afresh on every rerun, so their top-level names are per
    run. No ``global`` statement anywhere. Session data live only in st.session_state."""
    files = sorted((ROOT / "ui").glob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
    trees = {f: ast.parse(f.read_text(encoding="utf-8")) for f in files}
    mutated_anywhere = set().union(*(_mutated_names(t) for t in trees.values()))
    problems = []
    for f, tree in trees.items():
        shared = (_module_mutables(tree) & mutated_anywhere) if f.parent.name == "ui" else set()
        problems += [f"{f.relative_to(ROOT)}: {n}" for n in sorted(shared)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                problems.append(f"{f.relative_to(ROOT)}: global {', '.join(node.names)}")
    assert not problems, problems


def test_caches_keyed_on_content_cache_resource_only_for_figures():
    """Caches are only in ui/cache.py, keyed on the content (``data_key`` first when data pass unhashed);
    ``cache_resource`` only decorates the functions named ``*_figure`` (Plotly figures: one object for every
    run, see the module's docstring), and is not used in any other way."""
    src = (ROOT / "ui" / "cache.py").read_text(encoding="utf-8")
    for other in list((ROOT / "ui").glob("*.py")) + list((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        if other.name != "cache.py":
            text = other.read_text(encoding="utf-8")
            assert "cache_data" not in text and "cache_resource" not in text, other.name
    tree = ast.parse(src)
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cache_resource"]
    uses += [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "cache_resource"]
    uses += [n for n in ast.walk(tree) if isinstance(n, ast.alias) and "cache_resource" in n.name]
    resource = [fn for fn in tree.body if isinstance(fn, ast.FunctionDef)
                and any("cache_resource" in ast.unparse(d) for d in fn.decorator_list)]
    assert len(uses) == len(resource), "cache_resource used other than as a decorator"
    assert resource and all(fn.name.endswith("_figure") for fn in resource), [fn.name for fn in resource]
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        decorators = " ".join(ast.unparse(d) for d in fn.decorator_list)
        if "cache_data" in decorators or "cache_resource" in decorators:
            assert "max_entries" in decorators, fn.name                       # bounded
            args = [a.arg for a in fn.args.args]
            data_args = [a for a in args if a.startswith("_")]
            if data_args or "cache_resource" in decorators:  # data passed unhashed: identified by a content hash
                assert args[0] == "data_key", (fn.name, args)
        if fn.name.endswith("_figure"):
            assert "cache_resource" in decorators, fn.name


def test_pages_hand_cached_figures_straight_to_the_chart():
    """A cached figure (``cache.*_figure``) is one object for every run and session: a page passes it straight to
    ``render.chart`` and never keeps it in a name it could change it through."""
    for page in sorted((ROOT / "pages").glob("*.py")):
        tree = ast.parse(page.read_text(encoding="utf-8"))
        straight = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "render.chart" and node.args:
                straight.add(id(node.args[0]))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr.endswith("_figure") and ast.unparse(node.func.value) == "cache":
                assert id(node) in straight, f"{page.name}: {ast.unparse(node)[:80]}"


# ---- bad files in the app: a clear message, never an exception -------------------------------------------------
BAD_IN_APP = ["binary_as.csv", "sentinel_99.csv", "billion_laughs.xlsx"]


def test_bad_files_show_a_clear_message_in_the_app():
    import json
    import sys

    bad = ROOT / "tests" / "data" / "bad"
    sys.path.insert(0, str(bad))
    import make_bad

    expected = json.loads((bad / "expected.json").read_text(encoding="utf-8"))
    at = start("pages/data.py")
    for name in BAD_IN_APP:
        upload(at, [(name, make_bad.build(name))])
        assert_clean(at)
        shown = "\n".join(error_texts(at)) + "\n" + texts(at)
        shown += "\n".join(str(df.to_dict()) for df in tables(at))
        shown = shown.replace("\\", "").lower()
        assert "traceback" not in shown
        assert "error(s)" in shown, name
        first = expected[name]["fragments"][0].lower()
        assert first in shown, (name, first)
