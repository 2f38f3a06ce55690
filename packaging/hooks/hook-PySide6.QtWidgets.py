# Overrides PyInstaller's hook for PySide6.QtWidgets: same collection, minus the Qt plugins and
# translations Slotwise does not use (packaging/qt_plugins.py says which and why).
from PyInstaller.utils.hooks.qt import add_qt6_dependencies
from qt_plugins import kept

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [b for b in binaries if kept(b)]
datas = [d for d in datas if kept(d)]
