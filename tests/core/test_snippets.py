"""The R and Stata statements we show: one owner (snippets), labels quoted, the app's signs in R."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core import snippets
from ketapain_core.analysis import AnalysisSettings
from ketapain_core.crossover import fit_crossover

ROOT = Path(__file__).resolve().parents[2]


def test_readme_r_block_is_the_snippet():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"The equivalent R, .*?```r\n(.*?)\n```", readme, re.S).group(1)
    assert block == snippets.r_snippet(AnalysisSettings(), "Placebo", ["Placebo", "Ketamine", "Ketamine/Mg"])


def test_levels_are_explicit_in_the_app_order():
    code = snippets.r_snippet(AnalysisSettings(), "Saline", ["Saline", "High dose", "Low dose"])
    assert 'arms <- c("Saline", "High dose", "Low dose")' in code
    assert "factor(d$treatment, levels = arms)" in code and "relevel" not in code
    stata = snippets.stata_snippet(AnalysisSettings(), "Saline", ["Saline", "High dose", "Low dose"])
    assert 'label define trt 1 `"Saline"\' 2 `"High dose"\' 3 `"Low dose"\'' in stata


@pytest.mark.parametrize("label", ['Placebo"); system("echo PWNED"); ("', "back\\slash", "tab\there", "new\nline",
                                   "esc\x1b[2J"])
def test_labels_cannot_add_r_code(label):
    code = snippets.r_snippet(AnalysisSettings(carryover="include"), label, [label, "B"])
    lit = snippets.r_string(label)
    assert lit in code and "\n" not in lit and "\x1b" not in lit
    # the literal is one R string: every quote inside it is escaped
    inner = lit[1:-1]
    assert not re.search(r'(?<!\\)"', inner.replace("\\\\", ""))
    stata = snippets.stata_snippet(AnalysisSettings(), label, [label, "B"])
    assert "\x1b" not in stata and "\nline" not in stata.split("label define", 1)[1].splitlines()[0]


def _auc_table(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seqs = [("Saline", "Low", "High"), ("Low", "High", "Saline"), ("High", "Saline", "Low"),
            ("Saline", "High", "Low"), ("Low", "Saline", "High"), ("High", "Low", "Saline")]
    effect = {"Saline": 0.0, "Low": -15.0, "High": -25.0}
    rows = []
    for i in range(18):
        u = rng.normal(0, 30)
        for k, arm in enumerate(seqs[i % 6]):
            rows.append((f"{i:03d}", k + 1, arm, "-".join(seqs[i % 6]), 150 + u + effect[arm] + 4 * k
                         + rng.normal(0, 12)))
    t = pd.DataFrame(rows, columns=["patient", "period", "treatment", "sequence", "auc"])
    t.loc[[4, 20], "auc"] = np.nan
    return t


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs R (lmerTest, emmeans, effectsize)")
@pytest.mark.parametrize("carryover", ["exclude", "include"])
def test_pasted_r_reproduces_the_app_contrasts(tmp_path, carryover):
    """Run the R we show on an AUC table (when R is installed) and compare every contrast with the app."""
    probe = subprocess.run(["Rscript", "-e", "library(lmerTest); library(emmeans); library(effectsize)"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("R packages lmerTest / emmeans / effectsize not installed")
    t = _auc_table()
    t.to_csv(tmp_path / "auc.csv", index=False, na_rep="")
    settings = AnalysisSettings(carryover=carryover)
    arms = ["Saline", "High", "Low"]
    code = snippets.r_snippet(settings, "Saline", arms)
    code += ("\nres <- as.data.frame(summary(contrast(emm, \"revpairwise\", adjust = \"none\"), infer = TRUE))"
             "\ncat(jsonlite::toJSON(list(estimate = res$estimate, p = res$p.value), digits = NA))\n")
    out = subprocess.run(["Rscript", "-"], input=code, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    ours = fit_crossover(t, reference="Saline", carryover=carryover).contrasts
    assert list(zip(ours["a"], ours["b"])) == [("High", "Saline"), ("Low", "Saline"), ("Low", "High")]
    np.testing.assert_allclose(ours["estimate"], got["estimate"], rtol=1e-5)
    np.testing.assert_allclose(ours["p"], got["p"], rtol=1e-3)
