import io
import json

import openpyxl
from apphelpers import assert_clean, goto, shows_data_errors, start, upload_invalid_and_return

PAGE = "pages/report.py"


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_renders_builds_report_and_logs_the_session():
    at = start(PAGE)
    assert_clean(at)
    assert any("SIMULATED" in m.value for m in at.markdown) or any("SIMULATED" in w.value for w in at.warning)
    _button(at, "build_report").click().run(timeout=120)
    assert_clean(at)
    assert any("MiB, for the current settings" in c.value for c in at.caption)
    # the audit log has the data (with its hash) and the settings
    events = at.session_state["_audit_log"]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "data" and len(events[0]["sha256"]) == 64 and "settings" in kinds


def test_settings_change_is_logged_with_before_and_after():
    at = start(PAGE)
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    changes = [e for e in at.session_state["_audit_log"] if e["event"] == "settings" and e.get("changed")]
    assert changes and changes[-1]["changed"]["policy"] == ["locf", "complete"]
    goto(at, "pages/primary.py")
    analyses = [e for e in at.session_state["_audit_log"] if e["event"] == "analysis"]
    assert analyses and analyses[-1]["settings"]["policy"] == "complete"
    assert all({"patient", "period", "reason"} <= set(x) for x in analyses[-1]["excluded"])
    assert len(analyses[-1]["excluded"]) > 0


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)
