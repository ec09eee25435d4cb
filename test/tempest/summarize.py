"""Summarize a subunit2csv stream: counts, then every test that did not pass, one per line.

With --passed, print only the names of the passed tests, one per line, for comparing two runs."""
import csv
import re
import sys

counts = {"success": 0, "skip": 0, "fail": 0}
lines = []
passed = []
for row in csv.DictReader(sys.stdin):
    name = re.sub(r"\[.*\]$", "", row["test"])
    if name.startswith(("setUpClass", "tearDownClass")):
        # A class skipped or failed as a whole shows as one row; count it once, name it whole.
        if row["status"] in ("fail", "skip"):
            counts[row["status"]] += 1
            lines.append(f"{row['status']} {row['test']}")
        continue
    status = row["status"] if row["status"] in counts else "fail"
    counts[status] += 1
    if status == "success":
        passed.append(name)
    else:
        lines.append(f"{status} {name}")
if "--passed" in sys.argv:
    print("\n".join(sorted(passed)))
else:
    print(f"passed {counts['success']}, failed {counts['fail']}, skipped {counts['skip']}")
    print("\n".join(sorted(lines)))
