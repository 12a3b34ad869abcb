"""Read time of each format (issue [15]) for a 2,000-patient diary: 2,000 patients x 3 periods x 35 days
(210,000 diary rows; 630,000 rows in the ADaM BDS layout, one per parameter).

Each file holds the same diary; ``read_trial`` (read + validate, the whole reader) is timed on its bytes,
after one warm-up read; the median of ``--repeats`` reads is printed with the file size and the reader used.
The SAS transport, Stata and SPSS files are written by pyreadstat; the sas7bdat by R haven's ``write_sas``
when ``Rscript`` with haven is available (skipped otherwise); the Dataset-JSON by the standard json module.

    python benchmarks/bench_formats.py [--patients 2000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_io import diary  # noqa: E402
from ketapain_core.io import read_trial  # noqa: E402

ARMS = ["Placebo", "Ketamine", "Ketamine/Mg"]
PARAMS = {"pain_average": "PAINAVG", "pain_max": "PAINMAX", "pain_night": "PAINNGT"}


def bds(d: pd.DataFrame) -> pd.DataFrame:
    parts = [pd.DataFrame({"USUBJID": "K-" + d["patient"], "APERIOD": d["period"].astype(float), "TRTA": d["treatment"],
                           "APERDY": d["day"].astype(float), "PARAMCD": code, "AVAL": d[col]})
             for col, code in PARAMS.items()]
    return pd.concat(parts, ignore_index=True)


def wide(d: pd.DataFrame) -> pd.DataFrame:
    out = d.pivot(index=["patient", "period", "treatment"], columns="day", values=list(PARAMS))
    names = {"pain_average": "day{:d}", "pain_max": "pain_max_d{:02d}", "pain_night": "pain_night_d{:02d}"}
    out.columns = [names[o].format(int(day)) for o, day in out.columns]
    return out.reset_index()


def dataset_json(frame: pd.DataFrame, name: str, types: dict[str, str], ndjson: bool = False) -> bytes:
    cols = [{"itemOID": f"IT.{name}.{c}", "name": c, "label": c, "dataType": types[c]} for c in frame.columns]
    values = frame.astype(object).where(frame.notna(), None)
    rows = values.to_numpy().tolist()
    head = {"datasetJSONCreationDateTime": "2026-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": f"IG.{name}", "records": len(rows), "name": name, "label": name, "columns": cols}
    if ndjson:
        return (json.dumps(head) + "\n" + "\n".join(json.dumps(r) for r in rows) + "\n").encode()
    return json.dumps({**head, "rows": rows}).encode()


def write_stat(kind: str, frame: pd.DataFrame, labels: dict | None = None, **kw) -> bytes:
    import pyreadstat

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / f"f.{kind}")
        if kind == "xpt":
            pyreadstat.write_xport(frame, path, **kw)
        elif kind == "dta":
            pyreadstat.write_dta(frame, path, variable_value_labels=labels or {})
        else:
            pyreadstat.write_sav(frame, path, variable_value_labels=labels or {})
        return Path(path).read_bytes()


def write_sas7bdat(frame: pd.DataFrame) -> bytes | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.csv", Path(tmp) / "out.sas7bdat"
        frame.to_csv(src, index=False)
        code = (f"suppressPackageStartupMessages(library(haven)); x <- read.csv('{src}', colClasses = c(USUBJID = "
                f"'character', TRTA = 'character', PARAMCD = 'character')); suppressWarnings(write_sas(x, '{dst}'))")
        proc = subprocess.run(["Rscript", "-e", code], capture_output=True, timeout=600)
        return dst.read_bytes() if proc.returncode == 0 and dst.is_file() else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    d = diary(n_pat=args.patients)
    b = bds(d)
    w = wide(d)
    coded = d.assign(treatment=d["treatment"].map({a: i + 1 for i, a in enumerate(ARMS)}).astype(float),
                     period=d["period"].astype(float), day=d["day"].astype(float))
    wcoded = w.assign(treatment=w["treatment"].map({a: i + 1 for i, a in enumerate(ARMS)}).astype(float),
                      period=w["period"].astype(float))
    vl = {"treatment": {i + 1: a for i, a in enumerate(ARMS)}}
    bds_types = {"USUBJID": "string", "APERIOD": "integer", "TRTA": "string", "APERDY": "integer",
                 "PARAMCD": "string", "AVAL": "double"}
    bj = b.assign(APERIOD=b["APERIOD"].astype(int), APERDY=b["APERDY"].astype(int))
    rc = pd.DataFrame({"record_id": w["patient"], "redcap_repeat_instrument": "pain_diary",
                       "redcap_repeat_instance": w["period"], "arm": w["treatment"]}).join(w.iloc[:, 3:])
    files = {
        "CSV long (reference)": ("pandas read_csv (C parser)", "diary.csv", d.to_csv(index=False).encode()),
        "CSV ADaM BDS": ("pandas read_csv (C parser)", "adpain.csv", b.to_csv(index=False).encode()),
        "SAS transport v5, BDS": ("pyreadstat read_xport", "adpain.xpt", write_stat("xpt", b, file_format_version=5)),
        "SAS transport v8, BDS": ("pyreadstat read_xport", "adpain.xpt", write_stat("xpt", b, file_format_version=8)),
        "SAS transport v8, long": ("pyreadstat read_xport", "diary.xpt", write_stat("xpt", d, file_format_version=8)),
        "SAS dataset, BDS": ("pyreadstat read_sas7bdat", "adpain.sas7bdat", write_sas7bdat(b)),
        "Dataset-JSON 1.1, BDS": ("json.loads", "adpain.json", dataset_json(bj, "ADPAIN", bds_types)),
        "Dataset-JSON NDJSON, BDS": ("json.loads per line", "adpain.ndjson",
                                     dataset_json(bj, "ADPAIN", bds_types, ndjson=True)),
        "Stata long (labelled arm)": ("pyreadstat read_dta", "diary.dta", write_stat("dta", coded, vl)),
        "SPSS long (labelled arm)": ("pyreadstat read_sav", "diary.sav", write_stat("sav", coded, vl)),
        "Stata wide": ("pyreadstat read_dta + io.wide", "diary.dta", write_stat("dta", wcoded, vl)),
        "SPSS wide": ("pyreadstat read_sav + io.wide", "diary.sav", write_stat("sav", wcoded, vl)),
        "CSV wide": ("pandas read_csv + io.wide", "diary.csv", w.to_csv(index=False).encode()),
        "REDCap CSV (repeating instrument)": ("pandas read_csv + io.wide", "redcap.csv",
                                              rc.to_csv(index=False).encode()),
    }
    print(f"{args.patients:,} patients x 3 periods x 35 days; median of {args.repeats} reads after a warm-up")
    print(f"{'format':<36} {'reader':<30} {'MiB':>6} {'diary rows':>10} {'median s':>9} {'max s':>7}")
    for label, (reader, name, data) in files.items():
        if data is None:
            print(f"{label:<36} {reader:<30} {'-':>6} {'-':>10} {'skipped (no Rscript with haven)':>18}")
            continue
        trial, report = read_trial({name: data})
        assert report.ok, (label, [str(m) for m in report.errors][:3])
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            trial, report = read_trial({name: data})
            times.append(time.perf_counter() - t0)
        print(f"{label:<36} {reader:<30} {len(data) / 2**20:6.1f} {len(trial.diary):>10,} "
              f"{statistics.median(times):9.2f} {max(times):7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
