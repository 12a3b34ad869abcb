"""Seeded random AUC-level crossover designs for the differential test (issue [8]).

Run from the repository root:

    python tests/reference/make_random_designs.py && Rscript tests/reference/random_designs.R

Writes ``tests/reference/data/random/<case>.csv`` (columns ``patient,period,treatment,auc``; a blank ``auc`` is
missing; patient IDs are text, so ``"7"`` and ``"007"`` are different patients) and
``tests/reference/data/random/cases.json`` (one entry per case: name, family, reference, arms (arm order, the
reference first, the other arms in code-point order), carryover ("exclude" | "include"), log, purpose).

Every case draws from its own ``numpy.random.default_rng([SEED, case index])``, so the files are byte-identical on
every run (with the same numpy). ``random_designs.R`` fits them; ``tests/core/test_random_designs.py`` compares
``ketapain_core`` with the fixture. See README.md in this folder.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "random"
SEED = 20261201

# ------------------------------------------------------------------------------------------------ designs
AB = [("A", "B"), ("B", "A")]
W3 = list(itertools.permutations(("P", "K", "M")))                      # Williams for 3 arms = all 6 orders
LS3 = [("P", "K", "M"), ("K", "M", "P"), ("M", "P", "K")]              # cyclic Latin square
W4 = [("P", "A", "C", "B"), ("A", "B", "P", "C"), ("B", "C", "A", "P"), ("C", "P", "B", "A")]  # Williams 4x4


def arm_order(reference: str, arms) -> list[str]:
    """The arm order of the contract: the reference first, the others in code-point order (as Python sorts)."""
    return [reference] + sorted(set(arms) - {reference})


def relabel(orders, mapping):
    return [tuple(mapping[a] for a in o) for o in orders]


class Case:
    def __init__(self, name, family, purpose, reference, orders, counts, *, carryover="exclude", log=False,
                 ids=None, effects=None, psd=60.0, rsd=30.0, carry_effect=None, boundary=False):
        self.name, self.family, self.purpose = name, family, purpose
        self.reference, self.orders, self.counts = reference, list(orders), list(counts)
        self.carryover, self.log = carryover, log
        self.ids, self.effects, self.psd, self.rsd = ids, effects, psd, rsd
        self.carry_effect, self.boundary = carry_effect or {}, boundary
        self.mods = []          # functions (rng, patients) -> None applied in order
        self.shuffle = False

    def arms(self):
        return arm_order(self.reference, {a for o in self.orders for a in o})


def simulate(case: Case, rng: np.random.Generator) -> list[dict]:
    """Patients as dicts {id, periods[], arms[], auc[]}: 180 + patient + arm + period (+ carry) + residual."""
    arms = case.arms()
    eff = case.effects or {a: (0.0 if a == case.reference else float(rng.normal(-15, 15))) for a in arms}
    n = sum(case.counts)
    ids = case.ids or [f"S{i:03d}" for i in range(1, n + 1)]
    assert len(ids) == n and len(set(ids)) == n, case.name
    plan = [o for o, c in zip(case.orders, case.counts) for _ in range(c)]
    k_max = max(len(o) for o in case.orders)
    per_eff = np.concatenate([[0.0], rng.normal(0, 10, k_max - 1)])
    patients = []
    for pid, order in zip(ids, plan):
        u = 0.0 if case.boundary else rng.normal(0, case.psd)
        e = rng.normal(0, case.rsd, len(order))
        if case.boundary:
            e = e - 0.8 * e.mean()       # ANOVA patient variance negative: REML at theta = 0
        y = []
        for k, a in enumerate(order):
            v = 180 + u + eff[a] + per_eff[k] + e[k]
            if k:
                v += case.carry_effect.get(order[k - 1], 0.0)
            y.append(float(np.round(np.clip(v, 0, 340), 1)))
        patients.append({"id": pid, "periods": list(range(1, len(order) + 1)), "arms": list(order), "auc": y})
    for mod in case.mods:
        mod(rng, patients)
    return patients


# ---------------------------------------------------------------------------------------------- modifiers
def blank_random(frac, keep_one=True):
    """Blank ``frac`` of all AUCs at random (rows stay), keeping at least one value per patient."""
    def mod(rng, patients):
        cells = [(i, k) for i, p in enumerate(patients) for k in range(len(p["auc"]))]
        m = int(round(frac * len(cells)))
        for j in rng.permutation(len(cells)):
            if m == 0:
                break
            i, k = cells[j]
            p = patients[i]
            if keep_one and sum(not np.isnan(v) for v in p["auc"]) <= 1:
                continue
            if not np.isnan(p["auc"][k]):
                p["auc"][k] = float("nan")
                m -= 1
    return mod


def dropout(frac, absent=True):
    """``frac`` of the patients leave after period 1 or 2: their later rows are absent (or blank)."""
    def mod(rng, patients):
        for p in patients:
            if rng.random() < frac and len(p["arms"]) > 2:
                last = int(rng.integers(1, len(p["arms"]) - 1)) + 1    # keep periods 1..last (last >= 2)
                if absent:
                    for key in ("periods", "arms", "auc"):
                        p[key] = p[key][:last]
                else:
                    p["auc"][last:] = [float("nan")] * (len(p["auc"]) - last)
    return mod


def remove_middle(count, period=2):
    """``count`` patients have NO row at all for ``period`` (rows for the periods around it stay)."""
    def mod(rng, patients):
        cand = [i for i, p in enumerate(patients) if period in p["periods"] and max(p["periods"]) > period]
        for i in sorted(rng.choice(cand, size=min(count, len(cand)), replace=False)):
            p = patients[i]
            j = p["periods"].index(period)
            for key in ("periods", "arms", "auc"):
                del p[key][j]
    return mod


def remove_first(count):
    """``count`` patients enter late: no row for period 1 (carry-over of period 2 unknown)."""
    def mod(rng, patients):
        for i in sorted(rng.choice(len(patients), size=count, replace=False)):
            p = patients[i]
            for key in ("periods", "arms", "auc"):
                del p[key][0]
    return mod


def blank_where(pred):
    """Blank the AUCs where pred(patient, k) is true."""
    def mod(rng, patients):
        for p in patients:
            for k in range(len(p["auc"])):
                if pred(p, k):
                    p["auc"][k] = float("nan")
    return mod


def keep_patients(n):
    def mod(rng, patients):
        del patients[n:]
    return mod


# -------------------------------------------------------------------------------------------------- cases
def counts_for(rng, n_seq, n, balanced):
    if balanced:
        return [n // n_seq] * n_seq
    c = rng.multinomial(n - n_seq, np.ones(n_seq) / n_seq) + 1        # at least one patient per sequence
    return [int(x) for x in c]


def cases() -> list[Case]:
    out: list[Case] = []
    meta = np.random.default_rng([SEED, 0])    # draws the sizes of the random families

    # AB/BA: 6..200 patients, balanced / unbalanced, 0-40% missing, two log cases
    for r, (n, bal, miss, log) in enumerate([(6, True, 0.0, False), (10, False, 0.1, False), (14, True, 0.2, False),
                                             (24, False, 0.0, True), (40, False, 0.3, False),
                                             (60, True, 0.4, False), (120, False, 0.15, True),
                                             (200, False, 0.05, False), (9, False, 0.25, False),
                                             (30, True, 0.35, False)]):
        c = Case(f"abba_{r + 1:02d}", "abba", f"AB/BA, {n} patients, {'balanced' if bal else 'unbalanced'}, "
                 f"{int(miss * 100)}% AUCs blank" + (", log(AUC + 1)" if log else ""),
                 "A", AB, counts_for(meta, 2, n, bal), log=log)
        if miss:
            c.mods.append(blank_random(miss))
        c.shuffle = r % 2 == 1
        out.append(c)
    for r, n in enumerate([16, 33]):
        c = Case(f"abba_carry_{r + 1}", "abba_carry", "AB/BA with carry-over: every carry column aliased -> "
                 "refitted without carry-over", "A", AB, counts_for(meta, 2, n, r == 0), carryover="include")
        if r:
            c.mods.append(blank_random(0.1))
        out.append(c)

    # 3-arm Williams (6 sequences)
    specs = [(12, True, 0.0, None, "exclude", False), (18, False, 0.1, None, "exclude", False),
             (30, False, 0.2, "blank", "exclude", False), (48, True, 0.05, None, "include", False),
             (36, False, 0.15, "absent", "include", False), (60, False, 0.3, None, "exclude", True),
             (90, False, 0.1, "absent", "exclude", False), (24, True, 0.0, None, "include", True),
             (150, False, 0.2, None, "include", False)]
    for r, (n, bal, miss, drop, carry, log) in enumerate(specs):
        c = Case(f"w3_{r + 1:02d}", "williams3", f"3-arm Williams (6 sequences), {n} patients, "
                 f"{'balanced' if bal else 'unbalanced'}, {int(miss * 100)}% blank"
                 + (f", dropouts ({drop} rows)" if drop else "") + (", carry-over" if carry == "include" else "")
                 + (", log" if log else ""), "P", W3, counts_for(meta, 6, n, bal), carryover=carry, log=log,
                 carry_effect={"K": -20.0} if carry == "include" else None)
        if miss:
            c.mods.append(blank_random(miss))
        if drop:
            c.mods.append(dropout(0.2, absent=(drop == "absent")))
        c.shuffle = r % 2 == 0
        out.append(c)

    # 3-arm Latin square (3 sequences)
    specs = [(6, True, 0.0, "exclude"), (9, False, 0.1, "exclude"), (15, True, 0.2, "include"),
             (27, False, 0.0, "include"), (45, False, 0.25, "exclude"), (12, True, 0.4, "exclude")]
    for r, (n, bal, miss, carry) in enumerate(specs):
        c = Case(f"ls3_{r + 1:02d}", "latin3", f"3-arm Latin square (3 sequences), {n} patients, "
                 f"{'balanced' if bal else 'unbalanced'}, {int(miss * 100)}% blank"
                 + (", carry-over" if carry == "include" else ""), "P", LS3, counts_for(meta, 3, n, bal),
                 carryover=carry)
        if miss:
            c.mods.append(blank_random(miss))
        out.append(c)

    # 4-arm Williams (4 sequences)
    specs = [(8, True, 0.0, "exclude"), (12, False, 0.1, "exclude"), (20, True, 0.2, "include"),
             (40, False, 0.3, "exclude"), (64, False, 0.05, "include"), (100, True, 0.15, "exclude")]
    for r, (n, bal, miss, carry) in enumerate(specs):
        c = Case(f"w4_{r + 1:02d}", "williams4", f"4-arm Williams (4 sequences), {n} patients, "
                 f"{'balanced' if bal else 'unbalanced'}, {int(miss * 100)}% blank"
                 + (", carry-over" if carry == "include" else ""), "P", W4, counts_for(meta, 4, n, bal),
                 carryover=carry, carry_effect={"A": 15.0} if carry == "include" else None)
        if miss:
            c.mods.append(blank_random(miss))
        c.shuffle = r % 2 == 1
        out.append(c)

    # missing MIDDLE periods (no row at all) and late entry
    for r, (orders, k, n, cnt, carry, first) in enumerate([
            (W3, 6, 24, 3, "include", 0), (W3, 6, 36, 4, "exclude", 0), (W4, 4, 24, 3, "include", 0),
            (W4, 4, 32, 2, "include", 2), (LS3, 3, 18, 2, "include", 1)]):
        c = Case(f"middle_{r + 1}", "missing_middle", f"{cnt} patients without any row for period 2"
                 + (f", {first} without a row for period 1" if first else "")
                 + ("; carry-over: the following period's carry-over is unknown -> left out" if carry == "include"
                    else "; no carry-over: those rows stay"), "P", orders, counts_for(meta, k, n, True),
                 carryover=carry)
        c.mods.append(remove_middle(cnt))
        if first:
            c.mods.append(remove_first(first))
        c.mods.append(blank_random(0.05))
        out.append(c)

    # boundary fits: patient SD 0 and 80% of each patient's mean residual removed -> theta = 0
    for r, (orders, k, n, ref) in enumerate([(AB, 2, 12, "A"), (W3, 6, 18, "P"), (LS3, 3, 21, "P"),
                                             (W4, 4, 16, "P")]):
        c = Case(f"boundary_{r + 1}", "boundary", "patient SD 0, ANOVA patient variance < 0: singular fit, theta = 0",
                 ref, orders, counts_for(meta, k, n, r != 2), boundary=True)
        out.append(c)

    # arm labels that collide when joined by "-"
    col = {"P": "a-b", "A": "c", "B": "a", "C": "b-c"}
    coll_orders = [("a-b", "c", "a", "b-c"), ("a", "b-c", "a-b", "c"), ("c", "a-b", "b-c", "a"),
                   ("b-c", "a", "c", "a-b")]
    for r, (n, carry, miss) in enumerate([(8, "exclude", 0.0), (16, "exclude", 0.1), (24, "include", 0.05)]):
        ref = "a-b" if r != 1 else "a"
        c = Case(f"collide_{r + 1}", "collide", "arms a-b, c, a, b-c: the orders (a-b, c, a, b-c) and "
                 "(a, b-c, a-b, c) both join to 'a-b-c-a-b-c' but are different sequences"
                 + (", carry-over" if carry == "include" else ""), ref, coll_orders,
                 counts_for(meta, 4, n, r == 0), carryover=carry)
        if miss:
            c.mods.append(blank_random(miss))
        c.shuffle = True
        out.append(c)

    # odd labels and patient IDs
    odd = [{"P": "Placebo (saline)", "K": "Ketamine 0.5 mg/kg", "M": "Ketamine + Mg²⁺"},
           {"P": "NA", "K": 'the "new" drug', "M": "it's, odd"},
           {"P": " leading space", "K": "Kétamine", "M": "氯胺酮"}]
    for r, m in enumerate(odd):
        c = Case(f"labels_{r + 1}", "odd_labels", "odd arm labels: spaces, unicode, quotes, comma, 'NA'",
                 m["P"], relabel(W3, m), counts_for(meta, 6, 18 + 6 * r, r == 0))
        c.mods.append(blank_random(0.1))
        c.shuffle = True
        out.append(c)
    ids1 = [str(i) for i in range(1, 13)] + ["007", "012", "0", "00", "1.0", "NA"]
    ids2 = [f"{i:03d}" for i in range(1, 11)] + [str(i) for i in range(1, 11)] + ["1e3", "1000", " 5", "5 "]
    for r, ids in enumerate([ids1, ids2]):
        orders = W3 if r == 0 else AB
        c = Case(f"ids_{r + 1}", "patient_ids", 'numeric-looking patient IDs: "7" and "007", "0" and "00", '
                 '"1.0", "NA", "1e3" / "1000", " 5" / "5 " are all different patients', "P" if r == 0 else "A",
                 orders, counts_for(meta, len(orders), len(ids), False), ids=ids)
        c.mods.append(blank_random(0.1))
        c.shuffle = True
        out.append(c)

    # carry-over partly aliased
    two_period3 = [("P", "K"), ("K", "P"), ("P", "M"), ("M", "P"), ("K", "M"), ("M", "K")]
    for r, n in enumerate([24, 36]):
        c = Case(f"carry_partial_{r + 1}", "carry_partial", "3 arms in 2 periods (all 6 ordered pairs) with "
                 "carry-over: an incomplete-block design where both carry columns stay estimable (seq x period df 1)", "P", two_period3,
                 counts_for(meta, 6, n, r == 0), carryover="include")
        out.append(c)
    # M never precedes an analysed row: carry[M] is 0 in every analysed row -> that column alone is aliased
    c = Case("carry_partial_3", "carry_partial", "3-arm, M only last or followed by a blank AUC: carry[M] is "
             "identically 0 in the analysed rows -> only that carry column aliased", "P",
             [("P", "K", "M"), ("K", "P", "M"), ("M", "P", "K"), ("P", "M", "K")], [6, 6, 4, 5],
             carryover="include")
    c.mods.append(blank_where(lambda p, k: k > 0 and p["arms"][k - 1] == "M"))
    out.append(c)

    # some carry columns aliased AND some treatment contrasts not estimable in the carry-over model (checked with
    # estimability::nonest.basis beforehand): P-K, K-P, P-M, M-P: carry[M] aliased, K - P and M - P not
    # estimable, M - K estimable; P-K-M, M-K-P: carry[K] (and period 2) aliased, only M - P estimable
    c = Case("carry_partial_4", "carry_partial", "2 periods, orders P-K, K-P, P-M, M-P with carry-over: carry[M] "
             "aliased, carry[K] kept; K - P and M - P not estimable, M - K estimable", "P",
             [("P", "K"), ("K", "P"), ("P", "M"), ("M", "P")], [5, 5, 4, 4], carryover="include")
    out.append(c)
    c = Case("carry_partial_5", "carry_partial", "orders P-K-M and M-K-P with carry-over: carry[K] and period 2 "
             "aliased; only M - P estimable", "P", [("P", "K", "M"), ("M", "K", "P")], [6, 5], carryover="include")
    c.mods.append(blank_random(0.05))
    out.append(c)

    # one sequence only: treatment confounded with period
    for r, (order, ref) in enumerate([(("A", "B"), "A"), (("P", "K", "M"), "P"), (W4[0], "P")]):
        c = Case(f"one_sequence_{r + 1}", "one_sequence", "every patient in the same order: treatment "
                 "confounded with period -> not estimable (confounded)", ref, [order], [10 + 2 * r])
        if r == 1:
            c.mods.append(blank_random(0.1))
        out.append(c)

    # no within-patient residual degrees of freedom
    c = Case("no_resid_1", "no_residual_df", "AB/BA with 2 patients: N = 4 = rank([X | Z])", "A", AB, [1, 1])
    out.append(c)
    c = Case("no_resid_2", "no_residual_df", "AB/BA with 2 patients and carry-over (aliased)", "A", AB, [1, 1],
             carryover="include")
    out.append(c)
    c = Case("no_resid_3", "no_residual_df", "3-arm Latin square, one patient per sequence, with carry-over: "
             "N = 9 = rank([X | Z])", "P", LS3, [1, 1, 1], carryover="include")
    out.append(c)

    c = Case("no_resid_4", "no_residual_df", "AB/BA, 1 + 1 complete patients and 3 with one AUC: N - p = 3 > 0 "
             "but N = rank([X | Z]): the between stratum has df, the within stratum none", "A", AB, [3, 2])
    def keep_one_complete_per_sequence(rng, patients):
        seen = set()
        for p in patients:
            if tuple(p["arms"]) in seen:
                p["auc"][1] = float("nan")
            seen.add(tuple(p["arms"]))
    c.mods.append(keep_one_complete_per_sequence)
    out.append(c)

    # some treatment contrast aliased, others estimable
    c = Case("alias_contrast_1", "aliased_contrast", "M only in sequence M-P whose P AUCs are blank: "
             "M's mean and contrasts are absorbed by that sequence's effect; K - P stays estimable", "P",
             [("P", "K"), ("K", "P"), ("M", "P")], [6, 6, 3])
    c.mods.append(blank_where(lambda p, k: p["arms"][0] == "M" and k > 0))
    out.append(c)
    c = Case("alias_contrast_2", "aliased_contrast", "4 arms; C is observed only in sequences where it is the "
             "patient's only observed AUC: C - x not estimable, the others are", "P",
             [("P", "A", "B"), ("A", "B", "P"), ("B", "P", "A"), ("C", "P", "A"), ("A", "C", "B")],
             [5, 5, 5, 3, 3])
    c.mods.append(blank_where(lambda p, k: "C" in p["arms"] and p["arms"][k] != "C"))
    c.mods.append(blank_random(0.05))
    out.append(c)

    # other whole-model refusals
    c = Case("one_patient", "not_estimable", "AB/BA, only one patient has any AUC -> one_patient", "A", AB, [3, 3])
    c.mods.append(blank_where(lambda p, k: p["id"] != "S001"))
    out.append(c)
    c = Case("one_arm", "not_estimable", "every B AUC blank -> one_arm", "A", AB, [4, 4])
    c.mods.append(blank_where(lambda p, k: p["arms"][k] == "B"))
    out.append(c)
    c = Case("no_within", "not_estimable", "every patient has a single observed AUC -> no_within", "P", W3,
             [2] * 6)
    c.mods.append(blank_where(lambda p, k: k != int(p["id"][1:]) % 3))
    out.append(c)
    return out


def to_frame(patients) -> pd.DataFrame:
    rows = [(p["id"], per, a, v) for p in patients for per, a, v in zip(p["periods"], p["arms"], p["auc"])]
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta = []
    allc = cases()
    names = [c.name for c in allc]
    assert len(set(names)) == len(names)
    for idx, c in enumerate(allc, start=1):
        rng = np.random.default_rng([SEED, idx])
        df = to_frame(simulate(c, rng))
        if c.shuffle:
            df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        df.to_csv(OUT / f"{c.name}.csv", index=False, lineterminator="\n", encoding="utf-8")
        present = set(df["treatment"])
        arms = [a for a in c.arms() if a in present]
        meta.append({"name": c.name, "family": c.family, "file": f"{c.name}.csv", "reference": c.reference,
                     "arms": arms, "carryover": c.carryover, "log": c.log, "purpose": c.purpose,
                     "n_patients": int(df["patient"].nunique()), "n_rows": int(len(df)),
                     "n_missing_auc": int(df["auc"].isna().sum())})
    (OUT / "cases.json").write_text(json.dumps({"seed": SEED, "cases": meta}, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    print(f"wrote {len(meta)} cases to {OUT}")


if __name__ == "__main__":
    main()
