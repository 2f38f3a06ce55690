"""The Fleet tab: the selected device's DDI controller id, what the server assigns to it, the
same verdict view as a local file, and "Install assigned update" (app/fleet on the session's
own link, through the bridge). Server URL, tenant and auth kind are remembered in the fleet
state dir; the token goes to the keyring or a 0600 file (app/fleet/secrets.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.fleet.ddi import FleetError
from app.fleet.gateway import FleetEvent, FleetMode, FleetOptions, FleetOutcome, FleetPlan
from app.fleet.profiles import RememberedServer, default_state_dir, load_server, save_server
from app.fleet.secrets import TokenStore, token_name
from app.fleet.server import AuthKind, ServerProfile
from app.gui.bridge import CoreBridge
from app.gui.errors import describe_error
from app.gui.models.verdict import judge
from app.gui.plain_text import plain_label
from app.gui.targets import DeviceSnapshot
from app.gui.widgets.verdict_view import VerdictView
from app.text import device_text

if TYPE_CHECKING:
    from app.gui.controller import DeviceController
    from app.image.keys import KeyStore


class FleetPanel(QWidget):
    def __init__(
        self,
        bridge: CoreBridge,
        controller: DeviceController,
        keys: Callable[[], KeyStore],
        state_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("fleet-panel")
        self.bridge = bridge
        self.controller = controller
        self.keys = keys
        self.state_dir = state_dir or default_state_dir()
        self.tokens = TokenStore(self.state_dir)
        self.plan: FleetPlan | None = None
        self.outcome: FleetOutcome | None = None
        self._spec: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_server())
        layout.addLayout(self._build_identity())
        self.verdict = VerdictView()
        self.verdict.hide()
        layout.addWidget(self.verdict)
        layout.addLayout(self._build_install())
        layout.addStretch(1)
        self._load_server()
        controller.snapshot_changed.connect(self._on_snapshot)
        self._refresh_buttons()

    # --- building ---

    def _build_server(self) -> QGroupBox:
        box = QGroupBox("DDI server (hawkBit, gooseBit)")
        form = QFormLayout(box)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://hawkbit.example.com")
        self.url_edit.setAccessibleName("Server URL")
        self.tenant_edit = QLineEdit("DEFAULT")
        self.tenant_edit.setAccessibleName("Tenant")
        self.auth_combo = QComboBox()
        for kind in AuthKind:
            self.auth_combo.addItem("No token" if kind is AuthKind.NONE else str(kind), kind)
        self.auth_combo.setAccessibleName("Authentication")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("kept in the keyring or a private file")
        self.token_edit.setAccessibleName("Token")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Test boot, then confirm", FleetMode.CONFIRM)
        self.mode_combo.addItem("Test boot only", FleetMode.TEST)
        self.mode_combo.setAccessibleName("Install mode")
        form.addRow("Server", self.url_edit)
        form.addRow("Tenant", self.tenant_edit)
        form.addRow("Authentication", self.auth_combo)
        form.addRow("Token", self.token_edit)
        form.addRow("Mode", self.mode_combo)
        self.token_where = plain_label("")
        self.token_where.setWordWrap(True)
        form.addRow("", self.token_where)
        return box

    def _build_identity(self) -> QVBoxLayout:
        column = QVBoxLayout()
        row = QHBoxLayout()
        self.check_button = QPushButton("Check server")
        self.check_button.clicked.connect(self.check)
        row.addWidget(self.check_button)
        self.controller_label = plain_label("Controller id: \u2014")
        self.controller_label.setAccessibleName("Controller id")
        row.addWidget(self.controller_label, 1)
        column.addLayout(row)
        self.assigned_label = plain_label("Select a device and check the server.")
        self.assigned_label.setWordWrap(True)
        self.assigned_label.setAccessibleName("Assigned by the server")
        column.addWidget(self.assigned_label)
        return column

    def _build_install(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.install_button = QPushButton("Install assigned update")
        self.install_button.clicked.connect(self.install)
        column.addWidget(self.install_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        column.addWidget(self.progress)
        self.status_label = plain_label("")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Fleet status")
        column.addWidget(self.status_label)
        return column

    # --- the server profile ---

    def _load_server(self) -> None:
        remembered = load_server(self.state_dir)
        self.url_edit.setText(remembered.base_url)
        self.tenant_edit.setText(remembered.tenant)
        index = self.auth_combo.findData(AuthKind(remembered.auth))
        self.auth_combo.setCurrentIndex(max(index, 0))

    def server_profile(self) -> ServerProfile:
        """The profile from the fields; a typed token is kept in the store (and said where)."""
        kind = AuthKind(self.auth_combo.currentData())
        url, tenant = self.url_edit.text().strip(), self.tenant_edit.text().strip()
        remembered = RememberedServer(url, tenant, kind.value)
        token = self.token_edit.text().strip()
        if token and kind is not AuthKind.NONE:
            where = self.tokens.save(token_name(url, tenant, kind), token)
            self.token_edit.clear()
            self.token_where.setText(f"Token kept in {where}.")
        profile = remembered.profile(self.tokens)
        save_server(self.state_dir, remembered)
        return profile

    def _options(self) -> FleetOptions:
        keys = self.keys()
        return FleetOptions(
            state_dir=self.state_dir,
            keys=keys if len(keys) else None,
            mode=FleetMode(self.mode_combo.currentData()),
        )

    # --- actions ---

    def check(self) -> None:
        session = self.controller.session
        if session is None:
            return
        try:
            profile = self.server_profile()
        except FleetError as exc:
            self.status_label.setText(str(exc))
            return
        self._spec = session.target.spec
        self.plan = None
        self.verdict.hide()
        self.assigned_label.setText("Asking the server\u2026")
        self.check_button.setEnabled(False)
        self.bridge.submit(
            session.fleet_plan(profile, self._options()),
            on_result=self._on_plan,
            on_error=self._on_error,
        )

    def install(self) -> None:
        session = self.controller.session
        if session is None or self.plan is None:
            return
        try:
            profile = self.server_profile()
        except FleetError as exc:
            self.status_label.setText(str(exc))
            return
        self._spec = session.target.spec
        self.install_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        events = self.bridge.throttle(self._on_event)

        def report(event: FleetEvent) -> None:  # core loop thread
            events(event)

        async def job() -> tuple[FleetOutcome, DeviceSnapshot]:
            try:
                return await session.fleet_apply(profile, self._options(), report)
            finally:
                events.flush()

        self.bridge.submit(job(), on_result=self._on_done, on_error=self._on_error)

    # --- results (GUI thread) ---

    def _current(self) -> bool:
        session = self.controller.session
        return session is not None and session.target.spec == self._spec

    def _on_plan(self, plan: FleetPlan) -> None:
        self.check_button.setEnabled(True)
        if not self._current():
            return
        self.plan = plan
        self.controller_label.setText(f"Controller id: {plan.controller_id}")
        # The plan quotes the server (chunk and file names): one line each, controls escaped.
        self.assigned_label.setText("\n".join(device_text(line) for line in plan.sentences))
        if plan.image_path is not None and plan.verdicts:
            check = judge(plan.image_path, plan.verdicts, self.controller.snapshot)
            self.verdict.show_check(replace(check, headline=_headline(check.ok, plan)))
            self.verdict.show()
        self._refresh_buttons()

    def _on_event(self, event: FleetEvent) -> None:
        if not self._current():
            return
        if event.fraction is not None and event.message.startswith("uploading"):
            self.progress.setValue(int(event.fraction * 100))
        self.status_label.setText(device_text(event.message))

    def _on_done(self, result: tuple[FleetOutcome, DeviceSnapshot]) -> None:
        outcome, snapshot = result
        self.progress.hide()
        self.check_button.setEnabled(True)
        self.outcome = outcome
        told = "the server was told" if outcome.told_server else "queued for the server"
        message = device_text(outcome.message)
        self.status_label.setText(f"{outcome.result}: {message} ({told})")
        level = "info" if outcome.ok else "warn"
        self.controller.logged.emit(level, f"Fleet {outcome.controller_id}: {message}")
        self.controller.snapshot_changed.emit(snapshot)
        self._refresh_buttons()

    def _on_error(self, exc: BaseException) -> None:
        self.progress.hide()
        self.check_button.setEnabled(True)
        text = describe_error(exc)
        self.status_label.setText(text)
        self.controller.logged.emit("error", f"Fleet: {text}")
        self._refresh_buttons()

    def _on_snapshot(self, snapshot: DeviceSnapshot) -> None:
        if snapshot.target.spec != self._spec:
            self._spec = snapshot.target.spec
            self.plan = None
            self.controller_label.setText("Controller id: \u2026")
            self.assigned_label.setText("Check the server for this device.")
            self.verdict.hide()
            self._show_controller_id()
        self._refresh_buttons()

    def _show_controller_id(self) -> None:
        """The id this device gets, from the template, before any server is asked."""
        session = self.controller.session
        if session is None:
            return

        def show(cid: str) -> None:
            if self._current() and self.plan is None:
                self.controller_label.setText(f"Controller id: {cid}")

        def unknown(exc: BaseException) -> None:
            if self._current():
                self.controller_label.setText(f"Controller id: not known ({exc})")

        self.bridge.submit(
            session.fleet_controller_id(self._options()), on_result=show, on_error=unknown
        )

    def _refresh_buttons(self) -> None:
        connected = self.controller.session is not None
        self.check_button.setEnabled(connected)
        ok = self.plan is not None and self.plan.assigned and self.verdict.check is not None
        self.install_button.setEnabled(
            connected and ok and self.verdict.check is not None and self.verdict.check.ok
        )


def _headline(ok: bool, plan: FleetPlan) -> str:
    if ok:
        return f"Assigned {plan.artifact}: signature valid, ready to install"
    return f"Assigned {plan.artifact}: this image cannot be installed"
