"""The command line (DESIGN.md section 4), run in-process and as a subprocess."""
import io as _io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
DIARY = REF / "data" / "diary_gaps_a.csv"

JSON_KEYS = {"settings", "n_patients", "n_used", "excluded", "auc", "model", "omnibus", "carryover", "contrasts",
             "effect_sizes", "normality", "responders"}


def run(*argv):
    out, err = _io.StringIO(), _io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_auc_prints_csv_matching_reference():
    code, out, err = run("auc", str(DIARY), "--missing", "complete", "--horizon", "7")
    assert code == 0
    got = pd.read_csv(_io.StringIO(out), dtype={"patient": str})
    assert list(got.columns) == ["patient", "period", "treatment", "sequence", "auc"]
    ref = pd.read_csv(REF / "fixtures" / "auc_gaps_a.csv", dtype={"patient": str})
    ref = ref[(ref.outcome == "pain_average") & (ref.policy == "complete") & (ref.horizon == 7)]
    m = ref.merge(got, on=["patient", "period"], suffixes=("_r", ""))
    assert len(m) == len(ref) == len(got)
    np.testing.assert_allclose(m["auc"], m["auc_r"], rtol=1e-9, equal_nan=True)
    # blank when missing, and each left-out patient-period is said on stderr
    n_missing = got["auc"].isna().sum()
    assert n_missing > 0
    assert err.count("AUC missing") == n_missing
    assert ",," in out or out.rstrip().endswith(",") or "\n" in out


def test_analyze_json_has_design_keys(tmp_path):
    out_file = tmp_path / "res.json"
    code, out, err = run("analyze", str(DIARY), "--missing", "locf", "--carryover", "auto", "--json",
                         str(out_file))
    assert code == 0
    doc = json.loads(out_file.read_text())
    assert JSON_KEYS <= set(doc)
    assert {"converged", "var_subject", "var_residual", "icc", "warnings", "fixed_effects"} <= set(doc["model"])
    assert {"chi2", "df", "p_chi2", "f", "num_df", "den_df", "p_f"} <= set(doc["omnibus"])
    assert {"included", "chi2", "df", "p"} <= set(doc["carryover"])
    assert {"a", "b", "estimate", "se", "df", "t", "p", "p_sidak", "ci_low", "ci_high"} <= set(doc["contrasts"][0])
    assert {"a", "b", "n", "d", "ci_low", "ci_high", "g"} <= set(doc["effect_sizes"][0])
    assert {"shapiro_w", "p"} <= set(doc["normality"])
    assert doc["settings"]["policy"] == "locf" and doc["settings"]["reference"] == "Placebo"
    assert doc["data"]["simulated"] is False and doc["data"]["path"] == str(DIARY)
    # the period with no observation is left out and listed
    assert doc["n_used"] == len(doc["auc"]) - len(doc["excluded"])
    assert any(e["reason"].startswith("AUC missing: no pain_average") for e in doc["excluded"])
    # missing numbers are null
    assert any(a["auc"] is None for a in doc["auc"])


def test_analyze_json_to_stdout_and_summary():
    code, out, _ = run("analyze", str(DIARY), "--json", "-")
    assert code == 0 and json.loads(out)["model"]["converged"] is True
    code, out, _ = run("analyze", str(DIARY), "--horizon", "7", "--missing", "complete")
    assert code == 0 and "treatment: F(2," in out and "Sidak" in out


def test_invalid_options_exit_2():
    code, _, err = run("auc", str(DIARY), "--outcome", "pain_nope")
    assert code == 2 and "--outcome 'pain_nope' is not a column" in err
    code, _, err = run("auc", str(DIARY), "--horizon", "40")
    assert code == 2 and "--horizon" in err
    code, _, err = run("analyze", str(DIARY), "--reference", "Nothing")
    assert code == 2 and "--reference 'Nothing' is not an arm" in err


def test_invalid_input_exit_2_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient,period,treatment,day,pain_average\n1,1,A,1,5\n1,1,A,2,11\n1,1,B,3,x\n")
    code, out, err = run("auc", str(bad))
    assert code == 2 and out == ""
    lines = [l for l in err.splitlines() if l.startswith("error")]
    assert len(lines) >= 3  # out of range, non-numeric, two treatments in one patient-period
    assert "Traceback" not in err
    code, _, err = run("auc", str(tmp_path / "missing.csv"))
    assert code == 2 and "Traceback" not in err


def test_not_estimable_exit_3(tmp_path):
    one = tmp_path / "one.csv"
    rows = ["patient,period,treatment,day,pain_average"] + [f"1,{k},{a},{d},5" for k, a in ((1, "A"), (2, "B"))
                                                             for d in range(1, 36)]
    one.write_text("\n".join(rows) + "\n")
    code, out, err = run("analyze", str(one), "--json", "-")
    assert code == 3
    assert "cannot be estimated" in err and "only one patient" in err
    assert json.loads(out)["model"] is None


def test_module_entry_point_subprocess():
    p = subprocess.run([sys.executable, "-m", "ketapain_core", "auc", str(DIARY), "--horizon", "15"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "patient,period,treatment,sequence,auc"
    p = subprocess.run([sys.executable, "-m", "ketapain_core", "auc", str(ROOT / "nope.csv")],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.strip()


def test_report_command_writes_self_contained_html(tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run("report", str(ROOT / "data" / "simulated"), "--missing", "locf", "--out", str(out))
    assert code == 0, err
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and "SIMULATED DATA" in doc
    for sec in ("baseline", "questionnaires", "safety"):             # the secondary sections (issue [4])
        assert f"<h2 id='{sec}'>" in doc
    assert "<th>male (n = 10)</th>" in doc and "<td>7 (35%)</td>" in doc
    code, _, err = run("report", str(DIARY), "--out", str(tmp_path / "nodir" / "r.html"))
    assert code == 2 and "cannot write" in err


def test_console_script_is_the_same_command(tmp_path):
    """`ketapain` (pyproject's console script, installed by requirements.txt) runs the same main."""
    import shutil
    import subprocess
    exe = shutil.which("ketapain")
    if exe is None:
        pytest.skip("the package is not installed (pip install -e .)")
    out = subprocess.run([exe, "auc", str(ROOT / "data" / "simulated"), "--horizon", "7"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "patient,period,treatment,sequence,auc"


# ---- hostile input (issue [9]): devices, huge values, terminal escapes ----------------------------------------
_ENV_ROOT = str(ROOT)
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def _cli_bounded(*argv, limit_gib=1.5, timeout=60):
    """The real command line in a subprocess whose address space is limited (RLIMIT_AS)."""
    import os
    import resource

    def limit():
        n = int(limit_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (n, n))

    proc = subprocess.run([sys.executable, "-m", "ketapain_core", *argv], cwd=ROOT, capture_output=True,
                          timeout=timeout, preexec_fn=limit, env={**os.environ, "PYTHONPATH": _ENV_ROOT})
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def _check_refused(code, out, err, *fragments):
    assert code == 2, (code, err[-2000:])
    assert "Traceback" not in err and "MemoryError" not in err
    lines = err.strip().splitlines()
    assert lines and all(ln.startswith("error: ") for ln in lines), lines
    assert all(len(ln) < 2_000 for ln in lines)
    assert not _RAW_CONTROL.search(out + err)
    assert any(all(f in ln for f in fragments) for ln in lines), lines


def test_device_file_refused_with_bounded_memory():
    _check_refused(*_cli_bounded("auc", "/dev/zero", timeout=30), "/dev/zero", "not a regular file",
                   "character device")


def test_fifo_refused_without_waiting(tmp_path):
    import os

    fifo = tmp_path / "diary.csv"
    os.mkfifo(fifo)
    _check_refused(*_cli_bounded("auc", str(fifo), timeout=30), "named pipe")


def test_forty_mib_patient_id_refused_with_bounded_memory_and_message(tmp_path):
    path = tmp_path / "diary.csv"
    with open(path, "wb") as fh:
        fh.write(b"patient,period,treatment,day,pain_average\n")
        fh.write(b"P" * (40 * 2**20) + b",1,A,1,4\n01,2,B,1,5\n02,1,B,1,3\n02,2,A,1,4\n")
    _check_refused(*_cli_bounded("auc", str(path)), "column 'patient'", "row 2", "cell too long",
                   "41,943,040 characters")


def test_terminal_escapes_never_reach_the_terminal(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes(b"patient,period,treatment,day,pain_average\n01,1,Drug\x1b[2J,1,4\n01,2,B,1,5\n"
                     b"02,1,B,1,3\n02,2,Drug\x1b[2J,1,4\n")
    code, out, err = run("auc", str(path))
    assert code == 0 and "\x1b" not in out + err
    assert "Drug[2J" in out and "'Drug\\x1b[2J' -> 'Drug[2J'" in err  # said, and recognisable
    # a path (or anything else echoed) with escapes is shown escaped too
    code, out, err = run("auc", str(tmp_path / "x\x1b[2J\u202e.csv"))
    assert code == 2 and "\x1b" not in err and "\u202e" not in err and "x\\x1b[2J\\u202e.csv" in err
    # and CSV written to stdout keeps the data recognisable: ESC as the four characters \x1b
    from ketapain_core.cli import SafeText

    buf = _io.StringIO()
    pd.DataFrame({"arm": ["Drug\x1b[2J"]}).to_csv(SafeText(buf), index=False, lineterminator="\n")
    assert buf.getvalue() == "arm\nDrug\\x1b[2J\n"


def test_json_output_escapes_control_characters(tmp_path):
    code, out, err = run("analyze", str(DIARY), "--json", "-")
    assert code == 0 and out.isascii() and not _RAW_CONTROL.search(out)
    assert json.loads(out)["settings"]


def test_size_limits_are_options(tmp_path):
    """--max-rows / --max-file-mib are the command line's own limits: a diary above them is refused with a clear
    message (exit 2); the defaults fit a 20,000-patient CSV (~70 MiB, 2.1 M rows), beyond the app's 50 MiB and
    2,000,000 rows."""
    from ketapain_core.cli import CLI_MAX_FILE_MIB, CLI_MAX_ROWS
    from ketapain_core.io import Limits

    n_rows = len(pd.read_csv(DIARY))
    code, out, err = run("auc", str(DIARY), "--max-rows", str(n_rows - 1))
    assert code == 2 and "rows" in err and "Traceback" not in err
    assert run("auc", str(DIARY), "--max-rows", str(n_rows))[0] == 0
    code, _, err = run("auc", str(DIARY), "--max-file-mib", "0")
    assert code == 2 and "--max-file-mib" in err
    assert CLI_MAX_ROWS >= 3 * 20_000 * 36 > Limits().max_rows  # 20,000 patients, 3 periods, days 0-35
    assert CLI_MAX_FILE_MIB * 2**20 >= 200 * 2**20 > Limits().max_file_bytes
