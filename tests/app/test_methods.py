"""Methods page."""
from apphelpers import assert_clean, goto, start, texts, upload, upload_invalid_and_return

PAGE = "pages/methods.py"


def _code(at):
    return "\n".join(c.value for c in at.code)


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Methods"
    body = texts(at)
    for ref in ("Pickering", "Senn", "Kenward", "Satterthwaite", "Verbeke", "IMMPACT"):
        assert ref in body
    code = _code(at)
    assert "lmer(auc ~ treatment + period + sequence + (1 | patient)" in code
    assert 'adjust = "sidak"' in code and "cohens_d(" in code
    assert "|| pid:, reml" in code and "mcompare(sidak)" in code
    assert len(at.latex) >= 4


def test_locf_to_complete_case_changes_the_statements():
    at = start(PAGE)
    assert "missing diary days: LOCF" in _code(at)
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    assert "missing diary days: Complete case" in _code(at)


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert 'arms <- c("Saline"' in _code(at)


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert "lmer(" in _code(at)          # the methods stay readable without data


def test_url_restores_settings():
    at = start(PAGE, {"ref": "Ketamine", "carryover": "include", "log": "1"})
    assert_clean(at)
    code = _code(at)
    assert 'arms <- c("Ketamine", "Placebo", "Ketamine/Mg")' in code and "carry_1" in code and "log(auc + 1)" in code


def test_documents_the_sensitivity_methods():
    at = start(PAGE)
    assert_clean(at)
    body = texts(at)
    for heading in ("Baseline observation carried forward (BOCF)", "Worst observation carried forward (WOCF)",
                    "Multiple imputation (MI)", "Tipping point (delta-adjusted MI)", "Daily-data mixed model"):
        assert heading in body
    assert "Barnard-Rubin" in body and "mice::pool" in body
    latex = "\n".join(str(x.value) for x in at.latex)
    assert r"\nu_{\text{old}}" in latex and r"\bar Q" in latex


def test_formulas_hold_no_control_characters():
    """A formula typed in a plain (not raw) string turns ``\\text`` into a tab and ``\\frac`` into a form feed:
    KaTeX then shows "ext" instead of the word. Every formula on the page is printable text."""
    at = start(PAGE)
    formulas = [str(x.value) for x in at.latex]
    assert len(formulas) >= 10
    bad = [f for f in formulas if any(ord(ch) < 32 and ch != "\n" for ch in f)]  # Streamlit adds the newlines
    assert not bad, bad
    assert any(r"\text{band}" in f for f in formulas)


def test_methods_page_gives_sas_proc_mixed():
    """Issue [14]: the Methods page also gives the SAS PROC MIXED statements."""
    at = start("pages/methods.py")
    assert_clean(at)
    sas = next(c.value for c in at.code if "proc mixed" in c.value)
    assert "ddfm=satterthwaite" in sas and "lsmeans trt / diff adjust=sidak" in sas
    assert "random intercept / subject=patient;" in sas and "order=internal" in sas
