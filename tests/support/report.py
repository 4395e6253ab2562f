"""Lines at the end of pytest's report."""

from __future__ import annotations

import pytest


class ReportLines:
    """Lines for the end of pytest's report, under a heading: a test records one with
    `record_property(f"{ReportLines.PREFIX}{heading}", line)`. As a property it reaches the
    main process from a pytest-xdist worker, where a line kept in memory would not.
    Registered as a plugin by conftest."""

    PREFIX = "report-line:"

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name.startswith(self.PREFIX):
                lines = self.lines.setdefault(name.removeprefix(self.PREFIX), [])
                if value not in lines:  # the property is on every report of the test
                    lines.append(str(value))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for heading, lines in self.lines.items():
            terminalreporter.write_sep("-", heading)
            for line in lines:
                terminalreporter.write_line(line)
