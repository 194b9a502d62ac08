"""Repository-wide pytest hook: a skip summary of one line per reason, with counts.

Airbyte's standard tests skip each command (`spec`, `check`, `discover`, `read`) for every scenario
whose config is not listed under the section of `acceptance-test-config.yml` that runs it: dozens of
skips with one cause. `-rs` would list them one by one; this prints one line per reason instead.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

# The CDK's skip of a command for a scenario whose config is listed under other sections.
_NOT_LISTED = re.compile(r"^`(?P<command>\w+)` does not run for scenario '[^']*': its config is listed under ")


def _reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    counts: Counter = Counter()
    commands: dict = defaultdict(Counter)
    for report in skipped:
        reason = _reason(report)
        match = _NOT_LISTED.match(reason)
        if match:
            key = ("standard tests: a command does not run for a scenario whose config is not listed under the "
                   "acceptance-test-config.yml section that runs it")
            commands[key][match["command"]] += 1
        else:
            key = re.sub(r"'[^']*'", "'…'", reason)  # one line for reasons that differ only in a quoted name
        counts[key] += 1
    terminalreporter.write_sep("-", f"{len(skipped)} skipped, by reason")
    for key, count in counts.most_common():
        detail = ", ".join(f"`{c}` {n}" for c, n in commands[key].most_common()) if key in commands else ""
        terminalreporter.write_line(f"{count:5d}  {key}" + (f" ({detail})" if detail else ""))
