#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ohq-solve command-line checks: output shape, statuses, and exit code 2 with a clear message on
unusable input. Usage: cli_check.py PATH/TO/ohq-solve   (standard library only)"""
import json
import os
import subprocess
import sys
import tempfile

solver = sys.argv[1]
failures = []


def run(args, stdin=None):
    p = subprocess.run([solver] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def write(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    f.write(text)
    f.close()
    return f.name


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


MCKP = '''{"groups": [{"name": "l1", "choices": [{"name": "b2", "cost": 5.5, "use": [1, 2]}, {"name": "b4", "cost": 2, "use": [2, 4]},
                                          {"name": "b8", "cost": 0.1, "use": [4, 8]}]},
                      {"name": "l2", "choices": [{"name": "b2", "cost": 3, "use": [1.5, 2]}, {"name": "b8", "cost": 0.2, "use": [3, 8]}]}],
           "resources": ["latency", "memory"], "budgets": [5.5, 12]}'''
rc, out, err = run(["mckp", write(MCKP)])
doc = json.loads(out)
expect(rc == 0, "mckp exit code 0")
expect(doc["status"] == "optimal" and doc["objective"] == 2.2 and doc["solution"] == [1, 1], "mckp optimum: %s" % out)
expect(set(doc) == {"status", "objective", "solution", "nodes", "seconds"}, "mckp output keys")

rc, out, err = run(["mckp", "-"], stdin=MCKP.replace("[5.5, 12]", "[2, 12]"))
doc = json.loads(out)
expect(rc == 0 and doc["status"] == "infeasible" and doc["objective"] is None and doc["solution"] is None, "infeasible: " + out)

MILP = '''{"sense": "max", "variables": [{"name": "x", "lb": 0, "ub": null, "integer": true}, {"name": "y", "lb": 0, "ub": 10, "integer": false}],
           "objective": {"x": 1, "y": 0.5},
           "constraints": [{"name": "c1", "coefs": {"x": 2, "y": 1}, "op": "<=", "rhs": 7.5}, {"name": "c2", "coefs": {"x": 1, "y": -1}, "op": ">=", "rhs": -1}]}'''
rc, out, err = run(["milp", write(MILP)])
doc = json.loads(out)
expect(rc == 0 and doc["status"] == "optimal" and doc["objective"] == 3.75, "milp optimum: " + out)
expect(doc["solution"]["x"] == 3 and abs(doc["solution"]["y"] - 1.5) < 1e-12, "milp solution: " + out)

UNB = '{"sense": "max", "variables": [{"name": "a", "lb": 0, "ub": null, "integer": false}, {"name": "b", "lb": null, "ub": null, "integer": false}], "objective": {"a": 1}, "constraints": [{"name": "c", "coefs": {"a": 1, "b": -1}, "op": "<=", "rhs": 1}]}'
rc, out, err = run(["milp", write(UNB)])
expect(rc == 0 and json.loads(out)["status"] == "unbounded", "unbounded: " + out)

# A node limit of zero: status "limit".
big = {"groups": [{"name": "g%d" % g, "choices": [{"name": "c%d" % c, "cost": (g * 7 + c * 13) % 17, "use": [(g * 3 + c * 5) % 11 + 1]}
                                                 for c in range(4)]} for g in range(60)],
       "resources": ["r"], "budgets": [200.5]}
rc, out, err = run(["mckp", write(json.dumps(big)), "--node-limit", "0"])
doc = json.loads(out)
expect(rc == 0 and doc["status"] in ("limit", "optimal"), "node limit: " + out)

rc, out, err = run(["pareto", write(MCKP), "--resource", "latency", "--points", "5"])
doc = json.loads(out)
expect(rc == 0 and len(doc["points"]) == 5, "pareto sweep: " + out)

# Unusable input: exit 2 and a message naming the problem.
bad = [
    (["mckp", "/nonexistent/file.json"], "cannot read"),
    (["mckp", write('{"groups": [')], "malformed JSON"),
    (["mckp", write('{"groups": [], "resources": ["a"], "budgets": []}')], "budgets"),
    (["mckp", write('{"groups": [{"choices": [{"cost": 1, "use": [1, 2]}]}], "resources": ["a"], "budgets": [1]}')], "use"),
    (["milp", write('{"variables": [{"name": "x"}], "objective": {"y": 1}}')], "unknown variable"),
    (["milp", write('{"variables": [{"name": "x"}], "constraints": [{"coefs": {"x": 1}, "op": "==", "rhs": 1}]}')], "op"),
    (["milp", write('{"variables": [{"name": "x", "lb": 1e999}]}')], "range"),
    (["solve", write(MCKP)], "unknown mode"),
    (["mckp", write(MCKP), "--time-limit", "soon"], "time-limit"),
    (["mckp"], "usage"),
]
for args, needle in bad:
    rc, out, err = run(args)
    expect(rc == 2, "exit 2 for %s (got %d)" % (args[:1], rc))
    expect(needle in err, "message for %s mentions %r: %r" % (args, needle, err.strip()))
    expect(out == "", "no stdout on error for %s" % args[:1])

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
