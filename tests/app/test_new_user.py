"""Issue [14]: what a new user trips over, seen through AppTest (uploads kept across a reload, quiet reset of
settings that do not apply to new data, reset to defaults, labels and tables, running badge)."""
from __future__ import annotations

from apphelpers import assert_clean, frame_with, goto, open_text_tables, section, start, texts, upload

from ui import state
from ui.upload_store import STORE, TOKEN_CHARS, UploadStore


def _reload(at, page="pages/primary.py"):
    """A reload: a new session that opens the same address."""
    return start(page, {k: at.query_params[k] for k in at.query_params})


def test_upload_survives_a_reload(valid_upload):
    at = upload(start(), valid_upload)
    token = at.query_params.get(state.UPLOAD_PARAM)
    token = token[-1] if isinstance(token, list) else token
    assert token and len(token) == TOKEN_CHARS and at.query_params["data"] in ("upload", ["upload"])
    again = _reload(at)
    assert_clean(again)
    assert again.session_state[state.DATASET] == state.UPLOAD
    assert "Saline" in texts(again) and "SIMULATED DATA" not in texts(again)


def test_expired_upload_is_said_and_bundled_data_shown(valid_upload):
    at = upload(start(), valid_upload)
    token = at.query_params[state.UPLOAD_PARAM]
    token = token[-1] if isinstance(token, list) else token
    STORE.drop(token)                                   # as if it had expired
    again = _reload(at)
    assert_clean(again)
    assert again.session_state[state.DATASET] == state.BUNDLED
    assert "expired" in texts(again) and "SIMULATED DATA" in texts(again)


def test_store_is_bounded_and_expires():
    now = [0.0]
    s = UploadStore(max_bytes=100, max_entries=3, ttl=10, clock=lambda: now[0])
    tokens = [s.put(((f"{i}.csv", b"x" * 30),)) for i in range(4)]   # 120 bytes > 100: the oldest goes
    assert s.get(tokens[0]) is None and s.status(tokens[0]) == "expired"
    assert all(s.get(t) for t in tokens[1:]) and s.stats()["bytes"] <= 100
    now[0] = 11.0
    assert s.get(tokens[1]) is None and s.status(tokens[1]) == "expired"
    assert s.put((("big.csv", b"x" * 101),)) == ""        # larger than the budget: not kept
    assert len(set(tokens)) == 4 and s.status("A" * TOKEN_CHARS) == "unknown"


def test_new_dataset_resets_settings_quietly(valid_upload):
    at = section(start("pages/responders.py"), "Patient drill-down")
    at.selectbox(key=state.PATIENT).set_value("P05").run()
    at = upload(at, valid_upload)
    at = goto(at, "pages/primary.py")
    assert_clean(at)
    shown = texts(at)
    assert "is not among the arms" not in shown and "is not in these data" not in shown
    assert at.session_state[state.REFERENCE] == "Saline"
    assert "scale" not in at.query_params and "ref" not in at.query_params


def test_arms_of_an_upload_reference_first(valid_upload):
    at = goto(upload(start(), valid_upload), "pages/primary.py")
    shown = frame_with(at, "Mean ± SD")
    assert list(shown["Arm"])[0] == "Saline"


def test_reset_to_defaults():
    at = start("pages/primary.py", {"missing": "complete", "horizon": "21", "log": "1"})
    at.button(key="reset_defaults").click().run()
    assert_clean(at)
    ss = at.session_state
    assert ss[state.POLICY] == "locf" and ss[state.HORIZON] == 35 and ss[state.LOG] is False
    assert "missing" not in at.query_params and "horizon" not in at.query_params


def test_plain_labels_and_formats():
    at = start("pages/primary.py")
    assert_clean(at)
    assert at.radio(key=state.POLICY).label == "Missing diary days"
    shown = texts(at)
    assert "P = <" not in shown
    assert "red diamonds" not in shown and "vermillion" in shown
    section(at, "Mixed model")
    assert "P = <" not in texts(at)
    assert any("ICC" == m.label for m in at.metric)


def test_key_tables_show_all_rows_as_html_too():
    at = open_text_tables(start("pages/sensitivity.py"))
    assert_clean(at)
    # the contrasts-by-method table: every row at full height, shown column names, and a real HTML table
    html = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert "<table" in html and "<th scope=\"col\">P (Sidak)</th>" in html and "ci_low" not in html
    assert "None" not in html and "nan" not in html


def test_running_badge_and_report_download_label():
    at = start("pages/report.py")
    assert_clean(at)
    html = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert 'data-test-script-state=\\"running\\"' in html or 'data-test-script-state="running"' in html
