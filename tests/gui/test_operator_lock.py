"""The main window's operator-mode seam: every action is either locked or safe for an operator."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.gui.main_window import MainWindow


def _reachable_actions(main: MainWindow) -> list[QAction]:
    """Window shortcuts and every menu entry an operator could reach (not inside a locked menu)."""
    locked = set(map(id, main.lockable_actions()))
    found: list[QAction] = list(main.actions())

    def walk(menu: QMenu) -> None:
        for action in menu.actions():
            if action.isSeparator():
                continue
            found.append(action)
            submenu = action.menu()
            if isinstance(submenu, QMenu) and id(action) not in locked:
                walk(submenu)

    for action in main.menuBar().actions():
        found.append(action)
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            walk(submenu)
    return found


def test_every_action_of_the_main_window_is_either_locked_or_safe(window: MainWindow) -> None:
    """A new menu entry or shortcut must be classified: one left out of both lists fails here
    instead of quietly staying reachable in operator mode."""
    locked = {id(a) for a in window.lockable_actions()}
    safe = {id(a) for a in window.operator_actions()}
    assert not locked & safe
    unclassified = [a.text() for a in _reachable_actions(window) if id(a) not in locked | safe]
    assert unclassified == []


def test_the_lock_hides_and_disables_every_lockable_action_and_refuses_closing(
    window: MainWindow,
) -> None:
    """Locked: each lockable action is hidden and disabled, the right side is disabled, drops
    and closing are refused; unlocked, all of it comes back."""
    window.set_operator_lock(True)
    assert all(not a.isVisible() and not a.isEnabled() for a in window.lockable_actions())
    assert all(not w.isEnabled() for w in window.lockable_widgets())
    assert window.lockable_widgets() == [window.device_tabs]
    assert not window.acceptDrops()
    assert not window.close() and window.isVisible()
    assert all(a.isEnabled() for a in window.operator_actions())
    window.set_operator_lock(False)
    assert all(a.isVisible() and a.isEnabled() for a in window.lockable_actions())
    assert all(w.isEnabled() for w in window.lockable_widgets())
    assert window.acceptDrops()
