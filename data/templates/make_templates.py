"""Write the upload templates of KETAPAIN Explorer (deterministic: same bytes on every run).

    python3 data/templates/make_templates.py

writes, next to this script, one CSV per table (``diary_template.csv``, ``patients_template.csv``,
``questionnaires_template.csv``, ``adverse_events_template.csv``, ``analgesics_template.csv``) and
``trial_template.xlsx`` with one sheet per table. README.md in this folder describes every column.
Only the standard library and openpyxl are used.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Optional, Sequence

HERE = Path(__file__).resolve().parent

#: Fixed timestamp for the workbook's properties and zip entries, so the bytes never change.
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_ISO = "2020-01-01T00:00:00Z"

Row = Sequence[Optional[object]]


#: A Latin square of the three arms, two patients per sequence (one patient per sequence would confound the
#: sequence with the patient, and the patient variance could not be estimated).
_SEQUENCES = (("Placebo", "Ketamine", "Ketamine/Mg"), ("Ketamine", "Ketamine/Mg", "Placebo"),
              ("Ketamine/Mg", "Placebo", "Ketamine")) * 2
#: Template diary days: day 0 (pre-infusion baseline) and days 1..7.
TEMPLATE_DAYS = 7


def _diary_rows() -> list[Row]:
    """Six patients (a Latin square of the three arms, two per sequence), three periods, days 0 (pre-infusion baseline) to 7, one
    blank pain cell: small, yet the app and the command line analyse it as it is (LOCF fills the days after
    day 7 when the period length stays 35; set D = 7 to analyse days 1-7 only). The values are made by a fixed
    rule (no random numbers): a patient level, an arm effect, a slow decline over the days and a small
    deterministic wobble, so the residual variance is not zero."""
    effect = {"Placebo": 0.0, "Ketamine": -0.8, "Ketamine/Mg": -0.5}
    rows: list[Row] = []
    for k, treatments in enumerate(_SEQUENCES):
        patient = f"{k + 1:03d}"
        level = (5.0, 6.5, 4.0, 7.0, 5.5, 6.0)[k]
        for period, treatment in enumerate(treatments, start=1):
            for day in range(0, TEMPLATE_DAYS + 1):
                avg = level if day == 0 else level + effect[treatment] - 0.1 * day
                avg += 0.5 * (((k * 7 + day * 3 + period * 5 + k * period * 2) % 7) - 3)
                avg = round(min(max(avg * 2, 0), 20)) / 2          # half points, 0-10
                value: Optional[float] = avg
                if (patient, period, day) == ("001", 1, 2):
                    value = None  # a day without a recorded average pain: leave the cell blank
                rows.append((patient, period, treatment, day, value, min(avg + 1.5, 10), max(avg - 1, 0)))
    return rows


TABLES: dict[str, tuple[tuple[str, ...], list[Row]]] = {
    "diary": (("patient", "period", "treatment", "day", "pain_average", "pain_max", "pain_night"), _diary_rows()),
    "patients": (
        ("patient", "sex", "age", "weight", "height", "pain_type", "pain_duration_years", "dn4"),
        [("001", "F", 54, 68.5, 1.64, "post-surgery", 4, 6),
         ("002", "M", 61, 82, 1.78, "radiculopathy", 9.5, 5),
         ("003", "F", 47, 59, 1.60, "post-traumatic", 3, 7),
         ("004", "M", 66, 90.5, 1.81, "post-surgery", 12, 5),
         ("005", "F", 58, 72, 1.67, "radiculopathy", 6.5, 6),
         ("006", "M", 50, 77, 1.74, "post-traumatic", 2, 4)],
    ),
    "questionnaires": (
        ("patient", "timepoint", "instrument", "scale", "value"),
        [("001", "baseline", "HADS", "anxiety", 9), ("001", "baseline", "HADS", "depression", 8),
         ("001", 1, "HADS", "anxiety", 8), ("001", 2, "HADS", "anxiety", 7), ("001", 3, "HADS", "anxiety", 7),
         ("001", "baseline", "PSQI", "global", 12), ("001", 1, "PSQI", "global", None),
         ("002", "baseline", "HADS", "anxiety", 11), ("002", 1, "HADS", "anxiety", 10)],
    ),
    "adverse_events": (
        ("patient", "period", "event", "related", "serious"),
        [("001", 2, "fatigue", "yes", "no"), ("001", 2, "nausea", "yes", "no"),
         ("002", 1, "dizziness", "yes", "no"), ("002", 2, "headache", "no", "no")],
    ),
    "analgesics": (
        ("patient", "period", "drug_class"),
        [("001", 1, "paracetamol/NSAIDs"), ("002", 2, "nefopam")],
    ),
}


def _cell(v: Optional[object]) -> object:
    """A blank cell for None; whole floats without a trailing .0 (8.0 -> 8)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _csv_text(header: Sequence[str], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()


def _workbook_bytes() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for table, (header, rows) in TABLES.items():
        ws = wb.create_sheet(table)
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        for col, name in zip("ABCDEFGH", header):
            ws.column_dimensions[col].width = max(10, len(name) + 2)
        # patient identifiers are text: keep "001" as typed
        for (cell,) in ws.iter_rows(min_row=2, max_col=1):
            cell.number_format = "@"
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps (and fixed document dates), keeping the member order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + _FIXED_ISO.encode()
                              + rb"\g<2>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def main(folder: Path = HERE) -> list[Path]:
    """Write every template into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table, (header, rows) in TABLES.items():
        path = folder / f"{table}_template.csv"
        path.write_text(_csv_text(header, rows), encoding="utf-8", newline="")
        written.append(path)
    path = folder / "trial_template.xlsx"
    path.write_bytes(_workbook_bytes())
    written.append(path)
    return written


if __name__ == "__main__":
    for p in main():
        print(p.relative_to(HERE.parent.parent) if HERE.parent.parent in p.parents else p)
