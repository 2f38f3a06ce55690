"""The desktop application (PySide6): the only package that imports Qt.

Entry point: `app.gui.app.run()`, reached from `slotwise` with no subcommand (or `--demo`).
Nothing is imported here, so `import app.gui.session` stays free of Qt start-up cost.
"""
