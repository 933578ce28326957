#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""GLPK oracle for ohq-solve: generates instances, runs both solvers, and lets exact rational
arithmetic decide every disagreement.

  oracle.py run   --solver PATH [--count N] [--seed S] [--workdir DIR] [--glpsol PATH]
                  [--glpk-timeout SEC] [--classes a,b,...] [--report FILE]
  oracle.py gen   --out DIR [--count N] [--seed S]          (instances only, for benchmarks)

Every instance is written in ohq's JSON format (mckp or milp) and as CPLEX LP for glpsol, with
the objective scaled by a power of ten to order 1e3 (GLPK's absolute tolerances misjudge small
objectives). Both assignments are re-checked in exact decimal arithmetic (fractions.Fraction of
the JSON text). Verdicts:
  agree          same status, objectives within 1e-6 relative, both assignments exactly feasible
  ohq-right      they differ and the exact check favours ohq (GLPK infeasible/worse/wrong)
  ohq-wrong      they differ and the exact check favours GLPK, or ohq's answer is not feasible
  oracle-timeout glpsol hit its limit; ohq's answer is still checked exactly (and against a
                 known optimum where the class has one)
Exit status: 0 when no instance is ohq-wrong, 1 otherwise, 77 when glpsol is missing (skip).
Standard library only.
"""

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from fractions import Fraction

REL_TOL = Fraction(1, 10**6)
CONT_TOL = Fraction(1, 10**9)  # rows with continuous variables (a float vertex cannot be exact)


# ----------------------------------------------------------------------------- numbers

def dec(x, digits=6):
    """A short decimal literal for a float (round to `digits` significant digits)."""
    if x == 0:
        return "0"
    s = "%.*g" % (digits, x)
    if "e" in s or "E" in s:
        s = repr(float(s))
    return s


def frac_to_decimal(f):
    """Exact decimal text of a Fraction whose denominator divides a power of ten."""
    if f.denominator == 1:
        return str(f.numerator)
    m = 0
    while (10**m) % f.denominator:
        m += 1
        if m > 400:
            raise ValueError("not a finite decimal")
    n = f.numerator * (10**m // f.denominator)
    sign = "-" if n < 0 else ""
    s = str(abs(n)).rjust(m + 1, "0")
    return sign + s[:-m] + "." + s[-m:]


def exact_load(path):
    with open(path) as f:
        return json.load(f, parse_float=Fraction, parse_int=Fraction)


# ----------------------------------------------------------------------------- generators

def raw(s):
    """Marks a decimal literal to be written verbatim into JSON."""
    return RawNumber(s)


class RawNumber(str):
    pass


def dumps(doc):
    """json.dumps that writes RawNumber strings as bare numbers."""
    if isinstance(doc, RawNumber):
        return str(doc)
    if isinstance(doc, dict):
        return "{" + ", ".join(json.dumps(k) + ": " + dumps(v) for k, v in doc.items()) + "}"
    if isinstance(doc, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in doc) + "]"
    return json.dumps(doc)


def gen_mckp_random(rng, ngroups, nchoices, nres, tight, correlated=False):
    groups = []
    for g in range(ngroups):
        k = nchoices if isinstance(nchoices, int) else rng.randint(*nchoices)
        ch = []
        for c in range(k):
            if correlated:
                base = rng.uniform(1, 100)
                cost = base + rng.uniform(0, 10)
                use = [base * rng.uniform(0.8, 1.2) for _ in range(nres)]
            else:
                cost = rng.uniform(0, 1000)
                use = [rng.uniform(1, 100) for _ in range(nres)]
            ch.append(("c%d" % c, raw(dec(cost)), [raw(dec(u)) for u in use]))
        groups.append({"name": "g%d" % g, "choices": ch})
    return finish_mckp(rng, groups, nres, tight)


def finish_mckp(rng, groups, nres, tight, infeasible=False):
    """Converts (name, cost, use) choices to the JSON shape and sets budgets between the least and
    the greatest possible total use."""
    for g in groups:
        g["choices"] = [{"name": c[0], "cost": c[1], "use": c[2]} for c in g["choices"]]
    budgets = []
    for r in range(nres):
        lo = sum(min(Fraction(c["use"][r]) for c in g["choices"]) for g in groups)
        hi = sum(max(Fraction(c["use"][r]) for c in g["choices"]) for g in groups)
        t = tight if not isinstance(tight, tuple) else rng.uniform(*tight)
        b = lo + (hi - lo) * Fraction(t).limit_denominator(1000)
        if infeasible and r == 0:
            b = lo - Fraction(1, 1000)
        budgets.append(raw(dec(float(b), 9)))
    return {"groups": groups, "resources": ["r%d" % r for r in range(nres)], "budgets": budgets}


def gen_mckp_bitwidth(rng, nlayers, bits, nres, tight):
    """Realistic bit allocation: cost = sensitivity falling with bits, latency not monotone in
    bits (kernel effects), memory = params x bits (integers)."""
    groups = []
    for l in range(nlayers):
        sens = rng.lognormvariate(0, 1.5)
        params = rng.randint(1, 2000) * 64
        macs = params * rng.randint(16, 3136)
        ch = []
        speed = {b: rng.uniform(0.6, 1.4) for b in bits}
        for b in bits:
            cost = sens * (2.0 ** (-b)) * rng.uniform(0.8, 1.25) * 1000
            lat = macs * b / 8 * speed[b] * 1e-6 + rng.uniform(0, 0.05)
            mem = params * b
            use = [lat, mem, macs * b * 1e-6][:nres]
            ch.append(("w%d" % b, raw(dec(cost)), [raw(dec(u)) if i != 1 else raw(str(int(u))) for i, u in enumerate(use)]))
        groups.append({"name": "layer%d" % l, "choices": ch})
    return finish_mckp(rng, groups, nres, tight)


def gen_mckp_symmetric(rng, ngroups, nchoices, nres, tight, distinct=3):
    """Many identical layers (symmetry) and tied costs."""
    protos = []
    for _ in range(distinct):
        ch = []
        cost_levels = [rng.randint(0, 5) * 10 for _ in range(nchoices)]  # ties
        for c in range(nchoices):
            ch.append(("c%d" % c, raw(str(cost_levels[c])), [raw(str(rng.randint(1, 9))) for _ in range(nres)]))
        protos.append(ch)
    groups = [{"name": "g%d" % g, "choices": list(protos[g % distinct])} for g in range(ngroups)]
    return finish_mckp(rng, groups, nres, tight)


def mckp_as_milp(inst, sense="min", ties=(), equality=(), rhs_override=None, free_dummy=False):
    """Writes an MCKP as a MILP: x_g_c binary, one '=1' row per group, budgets as rows, optional
    tie rows x_a_c = x_b_c for tied layer pairs, optional equality budgets."""
    variables, obj, cons = [], {}, []
    sign = Fraction(1) if sense == "min" else Fraction(-1)
    for g, grp in enumerate(inst["groups"]):
        names = []
        for c, ch in enumerate(grp["choices"]):
            v = "x_%d_%d" % (g, c)
            names.append(v)
            variables.append({"name": v, "lb": 0, "ub": 1, "integer": True})
            obj[v] = raw(frac_to_decimal(sign * Fraction(ch["cost"])))
        cons.append({"name": "one_%d" % g, "coefs": {v: 1 for v in names}, "op": "=", "rhs": 1})
    for r, b in enumerate(inst["budgets"]):
        coefs = {}
        for g, grp in enumerate(inst["groups"]):
            for c, ch in enumerate(grp["choices"]):
                coefs["x_%d_%d" % (g, c)] = ch["use"][r]
        op = "=" if r in equality else "<="
        rhs = rhs_override[r] if rhs_override and r in rhs_override else b
        cons.append({"name": "budget_%d" % r, "coefs": coefs, "op": op, "rhs": rhs})
    for (a, b) in ties:
        na, nb = len(inst["groups"][a]["choices"]), len(inst["groups"][b]["choices"])
        for c in range(min(na, nb)):
            cons.append({"name": "tie_%d_%d_%d" % (a, b, c), "coefs": {"x_%d_%d" % (a, c): 1, "x_%d_%d" % (b, c): -1},
                         "op": "=", "rhs": 0})
    return {"sense": sense, "variables": variables, "objective": obj, "constraints": cons}


def lp_doc(sense, variables, obj, cons):
    return {"sense": sense, "variables": variables, "objective": obj, "constraints": cons}


def gen_beale():
    v = [{"name": "x%d" % j, "lb": 0, "ub": None, "integer": False} for j in range(4)]
    obj = {"x0": raw("-0.75"), "x1": 20, "x2": raw("-0.5"), "x3": 6}
    cons = [{"name": "r1", "coefs": {"x0": raw("0.25"), "x1": -8, "x2": -1, "x3": 9}, "op": "<=", "rhs": 0},
            {"name": "r2", "coefs": {"x0": raw("0.5"), "x1": -12, "x2": raw("-0.5"), "x3": 3}, "op": "<=", "rhs": 0},
            {"name": "r3", "coefs": {"x2": 1}, "op": "<=", "rhs": 1}]
    return lp_doc("min", v, obj, cons), {"expected": ("optimal", Fraction(-5, 4))}


def gen_kuhn():
    # Kuhn's cycling example (as in Chvatal): min -2x1 -3x2 + x3 + 12x4.
    v = [{"name": "x%d" % j, "lb": 0, "ub": None, "integer": False} for j in range(1, 5)]
    obj = {"x1": -2, "x2": -3, "x3": 1, "x4": 12}
    cons = [{"name": "r1", "coefs": {"x1": -2, "x2": -9, "x3": 1, "x4": 9}, "op": "<=", "rhs": 0},
            {"name": "r2", "coefs": {"x1": raw("0.3333333333333333"), "x2": 1, "x3": raw("-0.3333333333333333"), "x4": -2}, "op": "<=", "rhs": 0},
            {"name": "r3", "coefs": {"x1": 2, "x2": 3, "x3": -1, "x4": -12}, "op": "<=", "rhs": 2}]
    return lp_doc("min", v, obj, cons), {}


def gen_klee_minty(n, integer=False):
    v = [{"name": "x%d" % j, "lb": 0, "ub": None, "integer": integer} for j in range(n)]
    obj = {"x%d" % j: 2 ** (n - 1 - j) for j in range(n)}
    cons = []
    for i in range(n):
        coefs = {"x%d" % j: 2 ** (i - j + 1) for j in range(i)}
        coefs["x%d" % i] = 1
        cons.append({"name": "km%d" % i, "coefs": coefs, "op": "<=", "rhs": 5 ** (i + 1)})
    return lp_doc("max", v, obj, cons), {"expected": ("optimal", Fraction(5) ** n)}


def gen_degenerate(rng, n, m):
    """Random LP with many zero right-hand sides (degenerate vertices) and a bounding box."""
    v = [{"name": "x%d" % j, "lb": 0, "ub": rng.choice([None, 10]), "integer": False} for j in range(n)]
    obj = {"x%d" % j: rng.randint(-5, 5) for j in range(n)}
    cons = []
    for i in range(m):
        coefs = {"x%d" % j: rng.randint(-3, 3) for j in range(n) if rng.random() < 0.6}
        if not coefs:
            coefs = {"x0": 1}
        cons.append({"name": "d%d" % i, "coefs": coefs, "op": "<=", "rhs": 0 if rng.random() < 0.7 else rng.randint(1, 5)})
    cons.append({"name": "box", "coefs": {"x%d" % j: 1 for j in range(n)}, "op": "<=", "rhs": 20})
    return lp_doc("min", v, obj, cons), {}


def gen_jeroslow(n, with_slack):
    v = [{"name": "x%d" % j, "lb": 0, "ub": 1, "integer": True} for j in range(n)]
    coefs = {"x%d" % j: 2 for j in range(n)}
    if with_slack:
        v.append({"name": "y", "lb": 0, "ub": 1, "integer": True})
        coefs["y"] = 1
        obj = {"y": 1}
        exp = ("optimal", Fraction(1))
    else:
        obj = {"x0": 1}
        exp = ("infeasible", None)
    return lp_doc("max" if not with_slack else "min", v, obj, [{"name": "parity", "coefs": coefs, "op": "=", "rhs": n}]), \
        {"expected": exp}


def gen_parity_knapsack(rng, n):
    """sum 2 a_j x_j = odd or in a range whose only odd point matters; random costs."""
    v = [{"name": "x%d" % j, "lb": 0, "ub": rng.randint(1, 3), "integer": True} for j in range(n)]
    obj = {"x%d" % j: rng.randint(1, 20) for j in range(n)}
    coefs = {"x%d" % j: 2 * rng.randint(1, 5) for j in range(n)}
    tot = sum(coefs["x%d" % j] * v[j]["ub"] for j in range(n))
    rhs = 2 * rng.randint(1, max(1, tot // 4)) + 1
    return lp_doc("max", v, obj, [{"name": "even_le", "coefs": coefs, "op": "<=", "rhs": rhs},
                                  {"name": "even_ge", "coefs": coefs, "op": ">=", "rhs": rhs - 1}]), {}


def gen_free_vars(rng, n, m, integer):
    v = [{"name": "x%d" % j, "lb": None if rng.random() < 0.6 else -5, "ub": None if rng.random() < 0.6 else 7,
          "integer": integer and rng.random() < 0.6} for j in range(n)]
    obj = {"x%d" % j: rng.randint(-9, 9) for j in range(n)}
    cons = []
    for i in range(m):
        coefs = {"x%d" % j: rng.randint(-6, 6) for j in range(n) if rng.random() < 0.7}
        if not coefs:
            coefs = {"x%d" % (i % n): 1}
        op = rng.choice(["<=", ">=", "="]) if rng.random() < 0.8 else "<="
        cons.append({"name": "f%d" % i, "coefs": coefs, "op": op, "rhs": rng.randint(-20, 20)})
    # keep it bounded most of the time
    if rng.random() < 0.8:
        for j in range(n):
            cons.append({"name": "bu%d" % j, "coefs": {"x%d" % j: 1}, "op": "<=", "rhs": 50})
            cons.append({"name": "bl%d" % j, "coefs": {"x%d" % j: 1}, "op": ">=", "rhs": -50})
    return lp_doc(rng.choice(["min", "max"]), v, obj, cons), {}


def gen_random_milp(rng, n, m):
    v = []
    for j in range(n):
        kind = rng.random()
        if kind < 0.5:
            v.append({"name": "x%d" % j, "lb": 0, "ub": 1, "integer": True})
        elif kind < 0.8:
            v.append({"name": "x%d" % j, "lb": 0, "ub": rng.randint(2, 10), "integer": True})
        else:
            v.append({"name": "x%d" % j, "lb": 0, "ub": raw(dec(rng.uniform(1, 10), 4)), "integer": False})
    obj = {"x%d" % j: raw(dec(rng.uniform(-10, 30), 4)) for j in range(n)}
    cons = []
    for i in range(m):
        coefs = {"x%d" % j: raw(dec(rng.uniform(0, 20), 4)) for j in range(n) if rng.random() < 0.5}
        if not coefs:
            coefs = {"x0": 1}
        cons.append({"name": "k%d" % i, "coefs": coefs, "op": "<=", "rhs": raw(dec(rng.uniform(5, 60), 5))})
    return lp_doc("max", v, obj, cons), {}


def gen_lp_status(rng, kind):
    if kind == "infeasible":
        v = [{"name": "a", "lb": 0, "ub": None, "integer": False}, {"name": "b", "lb": 0, "ub": None, "integer": False}]
        cons = [{"name": "c1", "coefs": {"a": 1, "b": 1}, "op": ">=", "rhs": 3},
                {"name": "c2", "coefs": {"a": 1, "b": 1}, "op": "<=", "rhs": raw("2.999999")}]
        return lp_doc("min", v, {"a": 1}, cons), {"expected": ("infeasible", None)}
    v = [{"name": "a", "lb": 0, "ub": None, "integer": kind == "unbounded_int"},
         {"name": "b", "lb": None, "ub": None, "integer": False}]
    cons = [{"name": "c1", "coefs": {"a": 1, "b": -1}, "op": "<=", "rhs": 1}]
    return lp_doc("max", v, {"a": 1}, cons), {"expected": ("unbounded", None)}


def generate(count, seed, classes=None):
    """Returns a list of (name, kind, doc, meta). count scales the random classes."""
    rng = random.Random(seed)
    out = []

    def add(name, kind, doc, meta=None):
        if classes and name.split("/")[0] not in classes:
            return
        out.append((name, kind, doc, meta or {}))

    k = max(1, count // 12)
    # MCKP classes.
    for t in range(k):
        g = rng.choice([10, 20, 40, 80, 120, 200, 300])
        add("mckp_random/%d" % t, "mckp", gen_mckp_random(rng, g, (2, 8), rng.randint(1, 3), (0.05, 0.9)))
    for t in range(k):
        g = rng.choice([10, 20, 40, 80, 120, 300])
        add("mckp_correlated/%d" % t, "mckp", gen_mckp_random(rng, g, (2, 8), rng.randint(1, 3), (0.1, 0.6), True))
    for t in range(k):
        g = rng.choice([20, 40, 60, 120])
        bits = rng.choice([[2, 4, 8], [2, 3, 4, 8], [2, 3, 4, 5, 6, 8], [1, 2, 3, 4, 5, 6, 7, 8]])
        add("mckp_bitwidth/%d" % t, "mckp", gen_mckp_bitwidth(rng, g, bits, rng.randint(1, 3), (0.1, 0.8)))
    for t in range(max(1, k // 2)):
        add("mckp_symmetric/%d" % t, "mckp", gen_mckp_symmetric(rng, rng.choice([10, 30, 60]), rng.randint(2, 6),
                                                                 rng.randint(1, 2), (0.2, 0.7)))
    for t in range(max(1, k // 3)):
        inst = gen_mckp_random(rng, rng.choice([10, 50, 300]), (2, 8), rng.randint(1, 3), 0.5)
        lo = sum(min(Fraction(c["use"][0]) for c in g["choices"]) for g in inst["groups"])
        inst["budgets"][0] = raw(frac_to_decimal(lo - Fraction(1, 1000)))
        add("mckp_infeasible/%d" % t, "mckp", inst, {"expected": ("infeasible", None)})
    # Uncorrelated costs and uses, 8 choices, three tight budgets (25-35 % of the use range): the
    # hard class of the MCKP search (deepening on the gap with the tail table). Its own random
    # stream, so the other classes' instances do not depend on it.
    rng_t = random.Random(seed * 7919 + 3)
    for t in range(max(2, k // 3)):
        inst = gen_mckp_random(rng_t, rng_t.choice([30, 60, 100, 300]), 8, 3, (0.25, 0.35))
        add("mckp_tight3/%d" % t, "mckp", inst)
    # The same knapsacks written as MILPs: ties, equality budgets, maximisation.
    for t in range(k):
        inst = gen_mckp_random(rng, rng.choice([10, 20, 40, 80]), (2, 6), rng.randint(1, 3), (0.2, 0.8))
        ng = len(inst["groups"])
        pairs = set()
        for _ in range(rng.randint(1, max(1, ng // 5))):
            a, b = rng.sample(range(ng), 2)
            pairs.add((min(a, b), max(a, b)))
        add("milp_tied/%d" % t, "milp", mckp_as_milp(inst, sense=rng.choice(["min", "max"]), ties=sorted(pairs)))
    for t in range(k):
        inst = gen_mckp_symmetric(rng, rng.choice([8, 12, 20]), rng.randint(2, 4), 1, 0.5) if t % 2 else \
            gen_mckp_random(rng, rng.choice([8, 12, 20]), (2, 4), 1, 0.5)
        # Equality budget: hit exactly by a random assignment, or missed by a hair.
        pick = [rng.randrange(len(g["choices"])) for g in inst["groups"]]
        tot = sum(Fraction(inst["groups"][g]["choices"][c]["use"][0]) for g, c in enumerate(pick))
        if t % 3 == 2:
            tot += Fraction(1, 10**12)  # near miss: only tolerance-based solvers accept it
        add("milp_equality/%d" % t, "milp", mckp_as_milp(inst, equality=(0,), rhs_override={0: raw(frac_to_decimal(tot))}))
    # Degenerate and cycling-prone LPs.
    add("lp_degenerate/beale", "milp", *gen_beale())
    add("lp_degenerate/kuhn", "milp", *gen_kuhn())
    for n in (3, 6, 10):
        add("lp_degenerate/klee_minty_%d" % n, "milp", *gen_klee_minty(n))
    add("lp_degenerate/klee_minty_int_8", "milp", *gen_klee_minty(8, True))
    for t in range(max(2, k)):
        add("lp_degenerate/random_%d" % t, "milp", *gen_degenerate(rng, rng.randint(4, 25), rng.randint(4, 25)))
    add("lp_status/infeasible", "milp", *gen_lp_status(rng, "infeasible"))
    add("lp_status/unbounded", "milp", *gen_lp_status(rng, "unbounded"))
    add("lp_status/unbounded_int", "milp", *gen_lp_status(rng, "unbounded_int"))
    # Parity (Jeroslow) MILPs.
    for n in (5, 11, 21, 41):
        add("milp_parity/jeroslow_%d" % n, "milp", *gen_jeroslow(n, False))
        add("milp_parity/jeroslow_y_%d" % n, "milp", *gen_jeroslow(n, True))
    for t in range(max(1, k // 2)):
        add("milp_parity/knapsack_%d" % t, "milp", *gen_parity_knapsack(rng, rng.randint(8, 25)))
    # Free variables, random MILPs.
    for t in range(k):
        add("milp_free/%d" % t, "milp", *gen_free_vars(rng, rng.randint(2, 12), rng.randint(2, 12), t % 2 == 1))
    for t in range(k):
        add("milp_random/%d" % t, "milp", *gen_random_milp(rng, rng.randint(5, 25), rng.randint(2, 8)))
    return out


# ----------------------------------------------------------------------------- LP file for glpsol

def to_milp(kind, doc):
    return mckp_as_milp(doc) if kind == "mckp" else doc


def objective_scale(milp):
    """A power of ten bringing the objective to order 1e3."""
    mags = [abs(Fraction(c)) for c in milp["objective"].values() if Fraction(c) != 0]
    if not mags:
        return Fraction(1)
    groups = sum(1 for c in milp["constraints"] if c["name"].startswith("one_"))
    est = sum(mags) / len(mags) * max(1, groups)  # about the size of an optimal objective
    p = 3 - int(math.floor(math.log10(float(est))))
    return Fraction(10) ** p


def write_lp(milp, path, scale):
    names = {v["name"]: "v%d" % j for j, v in enumerate(milp["variables"])}

    def terms(coefs, mult=Fraction(1), keep_zero=False):
        parts = []
        for k, c in coefs.items():
            f = Fraction(c) * mult
            if f == 0 and not keep_zero:
                continue
            s = frac_to_decimal(abs(f))
            parts.append(("- " if f < 0 else "+ ") + s + " " + names[k])
        if not parts:
            parts = ["0 " + names[milp["variables"][0]["name"]]]
        lines, cur = [], ""
        for p in parts:
            if len(cur) > 200:
                lines.append(cur)
                cur = ""
            cur += " " + p
        lines.append(cur)
        return "\n".join(lines)

    with open(path, "w") as f:
        # Every variable appears in the objective, in order, so glpsol numbers columns as we do.
        full = {v["name"]: milp["objective"].get(v["name"], 0) for v in milp["variables"]}
        f.write(("Maximize" if milp["sense"] == "max" else "Minimize") + "\n obj:" + terms(full, scale, True) + "\n")
        f.write("Subject To\n")
        for i, c in enumerate(milp["constraints"]):
            op = {"<=": "<=", ">=": ">=", "=": "="}[c["op"]]
            f.write(" c%d:%s %s %s\n" % (i, terms(c["coefs"]), op, frac_to_decimal(Fraction(c["rhs"]))))
        f.write("Bounds\n")
        for v in milp["variables"]:
            lb, ub = v.get("lb", 0), v.get("ub", None)
            n = names[v["name"]]
            if lb is None and ub is None:
                f.write(" %s free\n" % n)
            else:
                los = "-inf" if lb is None else frac_to_decimal(Fraction(lb))
                ups = "+inf" if ub is None else frac_to_decimal(Fraction(ub))
                f.write(" %s <= %s <= %s\n" % (los, n, ups))
        ints = [names[v["name"]] for v in milp["variables"] if v.get("integer")]
        if ints:
            f.write("General\n")
            for t in range(0, len(ints), 10):
                f.write(" " + " ".join(ints[t:t + 10]) + "\n")
        f.write("End\n")
    return names


def run_glpsol(glpsol, lp_path, sol_path, milp, timeout):
    is_mip = any(v.get("integer") for v in milp["variables"])
    cmd = [glpsol, "--lp", lp_path, "-w", sol_path, "--tmlim", str(int(max(1, timeout)))]
    if not is_mip:
        cmd.append("--nopresol")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout + 10, text=True)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": time.perf_counter() - t0}
    secs = time.perf_counter() - t0
    text = p.stdout
    res = {"seconds": secs, "status": "unknown", "x": None}
    if not os.path.exists(sol_path):
        return res
    values = {}
    with open(sol_path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "s":
                if parts[1] == "mip":
                    st = parts[4]
                    res["status"] = {"o": "optimal", "f": "timeout", "n": "infeasible", "u": "undefined"}.get(st, "unknown")
                else:
                    prim, dual = parts[4], parts[5]
                    if prim == "f" and dual == "f":
                        res["status"] = "optimal"
                    elif prim == "n" or prim == "i" and dual == "f":
                        res["status"] = "infeasible"
                    elif prim == "f" and dual == "n":
                        res["status"] = "unbounded"
                    else:
                        res["status"] = "undefined"
            elif parts[0] == "j":
                idx = int(parts[1]) - 1
                values[idx] = parts[2] if is_mip else parts[3]
    if "TIME LIMIT EXCEEDED" in text:
        res["status"] = "timeout"
    if res["status"] == "undefined":
        if "NO PRIMAL FEASIBLE" in text:
            res["status"] = "infeasible"
        elif "UNBOUNDED" in text or "NO DUAL FEASIBLE" in text:
            res["status"] = "unbounded"
    if values:
        res["x"] = [Fraction(values[j]) for j in range(len(milp["variables"]))]
    return res


# ----------------------------------------------------------------------------- exact checks

def check_milp(milp, x):
    """(feasible, objective) of x in exact arithmetic; rows touching continuous variables may miss
    by CONT_TOL relative."""
    var = milp["variables"]
    idx = {v["name"]: j for j, v in enumerate(var)}
    for j, v in enumerate(var):
        xj = x[j]
        if v.get("integer") and xj.denominator != 1:
            return False, None
        tol = Fraction(0) if v.get("integer") else CONT_TOL
        lb, ub = v.get("lb", 0), v.get("ub", None)
        if lb is not None and xj < Fraction(lb) - tol * max(1, abs(Fraction(lb))):
            return False, None
        if ub is not None and xj > Fraction(ub) + tol * max(1, abs(Fraction(ub))):
            return False, None
    for c in milp["constraints"]:
        act = Fraction(0)
        mag = max(Fraction(1), abs(Fraction(c["rhs"])))
        cont = False
        for k, a in c["coefs"].items():
            t = Fraction(a) * x[idx[k]]
            act += t
            mag = max(mag, abs(t))
            if not var[idx[k]].get("integer"):
                cont = True
        d = act - Fraction(c["rhs"])
        tol = CONT_TOL * mag if cont else 0
        if c["op"] == "<=" and d > tol or c["op"] == ">=" and d < -tol or c["op"] == "=" and abs(d) > tol:
            return False, None
    obj = sum(Fraction(a) * x[idx[k]] for k, a in milp["objective"].items())
    return True, obj


def check_mckp(doc, choice):
    if choice is None or len(choice) != len(doc["groups"]):
        return False, None
    cost = Fraction(0)
    use = [Fraction(0)] * len(doc["budgets"])
    for g, c in zip(doc["groups"], choice):
        if not (0 <= c < len(g["choices"])):
            return False, None
        ch = g["choices"][c]
        cost += Fraction(ch["cost"])
        use = [u + Fraction(v) for u, v in zip(use, ch["use"])]
    for u, b in zip(use, doc["budgets"]):
        if u > Fraction(b):
            return False, None
    return True, cost


def mckp_choice_from_x(doc, x):
    choice = []
    j = 0
    for g in doc["groups"]:
        pick = None
        for c in range(len(g["choices"])):
            if x[j] == 1:
                pick = c
            j += 1
        choice.append(pick)
    return None if any(c is None for c in choice) else choice


def close(a, b):
    return abs(a - b) <= REL_TOL * max(Fraction(1), abs(a), abs(b))


def better(a, b, sense):
    return a < b if sense == "min" else a > b


# ----------------------------------------------------------------------------- driver

def run_ohq(solver, kind, path, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run([solver, kind, path, "--time-limit", str(timeout)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout + 30, text=True)
    except subprocess.TimeoutExpired:
        return {"status": "hang", "wall": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"status": "error", "wall": wall, "stderr": p.stderr}
    try:
        out = json.loads(p.stdout, parse_float=Fraction, parse_int=Fraction)
    except ValueError:
        return {"status": "bad-output", "wall": wall, "stdout": p.stdout}
    out["wall"] = wall
    return out


def judge(name, kind, doc, meta, ours, glpk, milp):
    sense = milp["sense"]
    ost = ours.get("status")
    if ost not in ("optimal", "infeasible", "unbounded", "limit"):
        return "ohq-wrong", "ohq-solve failed: %s" % ours
    # Check ohq's own answer exactly.
    our_obj = None
    if ost in ("optimal", "limit") and ours.get("solution") is not None:
        if kind == "mckp":
            feas, our_obj = check_mckp(doc, [int(c) for c in ours["solution"]])
        else:
            x = [Fraction(ours["solution"][v["name"]]) for v in milp["variables"]]
            feas, our_obj = check_milp(milp, x)
        if not feas:
            return "ohq-wrong", "ohq's assignment is not exactly feasible"
        if ours.get("objective") is None or not close(Fraction(ours["objective"]), our_obj):
            return "ohq-wrong", "reported objective %s differs from its assignment's %s" % (ours.get("objective"), our_obj)
    elif ost == "optimal":
        if kind != "mckp" or doc["groups"]:
            return "ohq-wrong", "optimal without a solution"
    if ost == "limit":
        return "ohq-wrong", "ohq hit its limit"
    exp = meta.get("expected")
    if exp:
        est, eobj = exp
        if est != ost or (eobj is not None and not close(our_obj, eobj)):
            return "ohq-wrong", "expected %s %s, got %s %s" % (est, eobj, ost, our_obj)
    gst = glpk.get("status")
    if gst in ("timeout", "unknown", "undefined", None):
        return "oracle-timeout", "glpsol: %s" % gst
    # GLPK's answer, checked exactly (objective from its assignment, unscaled).
    g_obj, g_feas = None, False
    if gst == "optimal" and glpk.get("x") is not None:
        g_feas, g_obj = check_milp(milp, glpk["x"])
    if ost == gst:
        if ost != "optimal":
            return "agree", ""
        if not g_feas:
            return "ohq-right", "GLPK's optimal assignment is exactly infeasible"
        if close(our_obj, g_obj):
            return "agree", ""
        if better(our_obj, g_obj, sense):
            return "ohq-right", "ohq's exactly feasible objective %s beats GLPK's %s" % (float(our_obj), float(g_obj))
        return "ohq-wrong", "GLPK's exactly feasible objective %s beats ohq's %s" % (float(g_obj), float(our_obj))
    # Statuses differ.
    if ost == "optimal" and gst == "infeasible":
        return "ohq-right", "GLPK says infeasible; ohq's assignment is exactly feasible"
    if ost == "infeasible" and gst == "optimal":
        if g_feas:
            return "ohq-wrong", "ohq says infeasible; GLPK's assignment is exactly feasible"
        return "ohq-right", "GLPK's assignment is exactly infeasible; ohq says infeasible"
    if ost == "unbounded" and gst == "infeasible" or ost == "infeasible" and gst == "unbounded":
        # An LP can be both primal infeasible and dual infeasible; only our exact side is checkable.
        return "ohq-wrong" if exp is None else "agree", "status %s vs GLPK %s" % (ost, gst)
    return "ohq-wrong", "status %s vs GLPK %s" % (ost, gst)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--solver", required=True)
    r.add_argument("--count", type=int, default=int(os.environ.get("OHQ_ORACLE_COUNT", "120")))
    r.add_argument("--seed", type=int, default=int(os.environ.get("OHQ_ORACLE_SEED", "20240")))
    r.add_argument("--workdir", default="oracle_work")
    r.add_argument("--glpsol", default=shutil.which("glpsol"))
    r.add_argument("--glpk-timeout", type=float, default=3.0)
    r.add_argument("--ohq-timeout", type=float, default=60.0)
    r.add_argument("--classes", default="")
    r.add_argument("--report", default="")
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--count", type=int, default=120)
    g.add_argument("--seed", type=int, default=20240)
    g.add_argument("--classes", default="")
    a = ap.parse_args()

    classes = set(c for c in a.classes.split(",") if c)
    if a.cmd == "gen":
        os.makedirs(a.out, exist_ok=True)
        for name, kind, doc, meta in generate(a.count, a.seed, classes):
            with open(os.path.join(a.out, name.replace("/", "__") + "." + kind + ".json"), "w") as f:
                f.write(dumps(doc))
        return 0

    if not a.glpsol or not os.path.exists(a.glpsol):
        print("SKIP: glpsol (Debian package glpk-utils) not found; the GLPK oracle comparison did not run")
        return 77
    os.makedirs(a.workdir, exist_ok=True)
    insts = generate(a.count, a.seed, classes)
    verdicts = {}
    times = {}
    failures = []
    lines = []
    for name, kind, doc, meta in insts:
        base = os.path.join(a.workdir, name.replace("/", "__"))
        jpath = base + ".json"
        with open(jpath, "w") as f:
            f.write(dumps(doc))
        exact_doc = exact_load(jpath)  # the exact decimal values, as the text says
        milp = to_milp(kind, exact_doc)
        scale = objective_scale(milp)
        write_lp(milp, base + ".lp", scale)
        if os.path.exists(base + ".sol"):
            os.remove(base + ".sol")
        ours = run_ohq(a.solver, kind, jpath, a.ohq_timeout)
        glpk = run_glpsol(a.glpsol, base + ".lp", base + ".sol", milp, a.glpk_timeout)
        verdict, why = judge(name, kind, exact_doc, meta, ours, glpk, milp)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        cls = name.split("/")[0]
        times.setdefault(cls, []).append((float(ours.get("seconds", 0) or 0), ours.get("wall", 0), glpk.get("seconds", 0),
                                          glpk.get("status")))
        line = "%-34s %-14s ohq=%-10s glpk=%-10s ohq %.4fs (wall %.4fs) glpsol %.4fs %s" % (
            name, verdict, ours.get("status"), glpk.get("status"), float(ours.get("seconds", 0) or 0),
            ours.get("wall", 0), glpk.get("seconds", 0), why)
        lines.append(line)
        print(line, flush=True)
        if verdict == "ohq-wrong":
            failures.append(line)
    print("\nper class: median ohq solve s | median ohq wall s | median glpsol wall s (solved by glpsol) | n")
    for cls, ts in sorted(times.items()):
        ours_s = statistics.median(t[0] for t in ts)
        ours_w = statistics.median(t[1] for t in ts)
        g_ok = [t[2] for t in ts if t[3] not in ("timeout", "unknown", "undefined")]
        g_med = statistics.median(g_ok) if g_ok else float("nan")
        print("  %-18s %.5f  %.5f  %.5f (%d/%d)  ratio wall %.3f" % (cls, ours_s, ours_w, g_med, len(g_ok), len(ts),
                                                                      ours_w / g_med if g_ok and g_med > 0 else float("nan")))
    print("\nverdicts:", ", ".join("%s=%d" % kv for kv in sorted(verdicts.items())))
    if a.report:
        with open(a.report, "w") as f:
            f.write("\n".join(lines) + "\n")
    if failures:
        print("\nFAILURES:")
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
