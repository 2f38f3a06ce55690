"""Findings: what to look at first on this device (app/workflows/findings.py), each with its
evidence, the same list as the report's summary and `slotwise report`."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.gui.diagnostics.base import DiagContext, DiagPage
from app.gui.icons import icon
from app.workflows.diagnostics import Feature
from app.workflows.findings import Finding, Severity
from app.workflows.report import Report, collect_report

SEVERITY_COLOUR = {Severity.WARN: "#c62828", Severity.NOTE: "#6b6b6b"}


class FindingsPage(DiagPage):
    feature = Feature.IMAGE_STATE
    title = "Findings"
    scrollable = True

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        row = QHBoxLayout()
        intro = QLabel(
            "Stacks, heap, clock, images, MCUmgr buffers and error counters, read from the "
            "device and judged as the report's summary judges them."
        )
        intro.setWordWrap(True)
        self.check_button = QPushButton(icon("refresh"), "Look again")
        self.check_button.setAccessibleName("Read the device again and look for problems")
        self.check_button.clicked.connect(self.refresh)
        row.addWidget(intro, 1)
        row.addWidget(self.check_button)
        layout.addLayout(row)
        self.list_label = QLabel("")
        self.list_label.setAccessibleName("Findings")
        self.list_label.setWordWrap(True)
        self.list_label.setTextFormat(Qt.TextFormat.RichText)
        self.list_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.list_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.list_label, 1)
        layout.addWidget(self.status)
        self.findings: list[Finding] | None = None

    def device_changed(self) -> None:
        self.findings = None
        self.list_label.setText("")
        self.refresh()

    def refresh(self) -> None:
        async def read(client: SmpClient) -> Report:
            return await collect_report(client)

        self.check_button.setEnabled(False)
        self.show_info("Reading the device\u2026")
        self.context.call(read, on_result=self.show_report, on_error=self._failed)

    def _failed(self, text: str) -> None:
        self.check_button.setEnabled(True)
        self.show_error(text)

    def show_report(self, report: Report) -> None:
        self.check_button.setEnabled(True)
        self.show_findings(report.findings())

    def show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.show_info(
            f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
            if findings
            else "No findings: nothing here needs a look."
        )
        self.list_label.setText(
            "".join(
                f'<p><b style="color:{SEVERITY_COLOUR[f.severity]}">{f.severity.value}</b> '
                f"<b>{html.escape(f.title)}</b><br>"
                + "<br>".join(f"&nbsp;&nbsp;&nbsp;{html.escape(e)}" for e in f.evidence)
                + "</p>"
                for f in findings
            )
        )


def report_page(page_html: str) -> QTextBrowser:
    """A written report's HTML in a browser widget (Qt's rich text: its summary and tables),
    as scripts/screenshots.py renders it for the docs."""
    browser = QTextBrowser()
    browser.setOpenLinks(False)  # the page links nowhere; nothing it holds is followed
    browser.setHtml(page_html)
    return browser
