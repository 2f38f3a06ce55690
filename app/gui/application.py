"""The one QApplication, shared by the main window's and the production window's start-up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app.gui.icons import app_icon
from app.gui.startup_checks import release_display


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The one QApplication (created on first call)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Slotwise")
    app.setOrganizationName("Slotwise")
    app.setWindowIcon(app_icon())
    release_display()  # the platform check's X connection: Qt has its own now
    return app


QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
qt_log = logging.getLogger("qt")


def _to_log(kind: QtMsgType, context: QMessageLogContext, text: str) -> None:
    level = QT_LEVELS.get(kind, logging.WARNING)
    if (context.category or "").startswith("qt.qpa"):  # the platform failing: say it
        level = max(level, logging.ERROR)
    qt_log.log(level, "%s", text)


def route_qt_messages() -> None:
    """Qt's own warnings (the offscreen plugin's "does not support propagateSizeHints()")
    go to the log, shown with -v, so the terminal keeps only `slotwise:` lines, as the
    command line's do; the platform plugin's (qt.qpa.*), critical and fatal ones still
    show, since they say why the window cannot open."""
    qInstallMessageHandler(_to_log)
