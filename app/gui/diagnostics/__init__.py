"""Diagnostics pages beside the slots view: device info, tasks, statistics, settings, files,
shell, log, and the report export."""

from app.gui.diagnostics.panel import DiagnosticsPanel

__all__ = ["DiagnosticsPanel"]
