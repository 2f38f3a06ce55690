"""One device's DDI conversation, carried by this station: poll, attributes, deployment,
download, verdict, install, feedback; and the gateway loop over many devices.

The install is the existing update workflow (app/workflows/update.py): mode `test` boots the
new image once and reports success while it runs on trial; mode `confirm` (the default) boots
it on trial, then confirms it once it runs, and only then reports success. The verdict comes
from `load_images_to_upload`, the same rule a local file meets with `slotwise upload`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from app.client.client import SmpClient
from app.client.upload import Reconnect, UploadCancelled
from app.errors import SlotwiseError
from app.fleet.artifacts import ArtifactCache, choose_artifact, unpack_swu
from app.fleet.attributes import device_attributes, read_facts
from app.fleet.ddi import (
    Deployment,
    Execution,
    Finished,
    FleetError,
    Handling,
    Poll,
    action_id_of,
    config_data_body,
    feedback_body,
    parse_cancel,
    parse_deployment,
    parse_poll,
)
from app.fleet.feedback import FeedbackQueue
from app.fleet.identity import (
    DEFAULT_TEMPLATE,
    clean_controller_id,
    controller_id,
    setting_names,
)
from app.fleet.server import DdiHttp, DownloadStopped, ServerProfile, ServerUnreachable
from app.image.errors import ClearPayloadRefused, ContentsUnproven, ImageError
from app.image.keys import KeyStore
from app.image.package import verify_path
from app.image.verify import Verdict
from app.smp.groups.img import running_slot
from app.text import device_text
from app.transport import open_transport
from app.workflows.images import Allowances, load_images_to_upload
from app.workflows.progress import ProgressEvent, Stage
from app.workflows.update import UpdateOptions, UpdateResult, read_device_state, run_update
from app.workflows.update_types import Mode, Outcome, UpdateImage
from app.workflows.watch import confirm_running

log = logging.getLogger(__name__)

ALLOW_ENCRYPTED = "--allow-unverified-encrypted"
ALLOW_CLEAR = "--allow-clear-payload"
"""The `slotwise fleet` options that set FleetOptions.allowances, named in refusals."""

STEPS = 8
"""progress {cnt, of}: downloaded, verified, uploaded 25/50/75/100 %, running, confirmed."""


class FleetMode(StrEnum):
    TEST = "test"
    """Boot the new image on trial and report success while it runs unconfirmed."""
    CONFIRM = "confirm"
    """Boot it on trial, confirm it once it runs, then report success (default)."""


class Result(StrEnum):
    NOTHING = "nothing"
    """The server assigns nothing (or nothing to do now)."""
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELED = "canceled"
    DEFERRED = "deferred"
    """Downloaded and checked, but not installed yet (soft update, closed window, or
    download-only action)."""


@dataclass(frozen=True, slots=True)
class FleetOptions:
    state_dir: Path
    """Feedback queue and artifact cache live here."""
    keys: KeyStore | None = None
    mode: FleetMode = FleetMode.CONFIRM
    template: str = DEFAULT_TEMPLATE
    controller_id: str | None = None
    """Typed or scanned by the technician; overrides the template."""
    smp_timeout_s: float = 5.0
    server_wait_s: float = 120.0
    """How long, after the install, to keep trying to tell an unreachable server."""
    watch_interval_s: float | None = None
    """Server poll interval during an install (cancel check); None: min(sleep, 5 s)."""
    install_attempt: bool = True
    """Install soft (`attempt`) updates; False defers them."""
    window_wait_s: float = 3600.0
    """How long to wait for a maintenance window to open before deferring."""
    allowances: Allowances = field(default_factory=Allowances)
    """Images installed only by explicit choice (encrypted-unproven, clear payload); the
    feedback says so for each one installed."""


@dataclass(frozen=True, slots=True)
class FleetEvent:
    controller_id: str
    message: str
    fraction: float | None = None


@dataclass(frozen=True, slots=True)
class FleetOutcome:
    controller_id: str
    result: Result
    message: str
    told_server: bool = False
    """The server answered the closing feedback (success/failure/canceled)."""
    action_id: str | None = None
    version: str | None = None
    details: tuple[str, ...] = ()
    """Every feedback line, in the order it was queued."""
    next_poll_s: float = 60.0
    verdicts: tuple[Verdict, ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        return self.result is Result.SUCCESS and self.told_server


EventCallback = Callable[[FleetEvent], None]


class _Canceled(FleetError):
    """Internal: the server cancelled or withdrew the action while it was ours to stop."""


async def apply(
    device: str,
    profile: ServerProfile,
    options: FleetOptions,
    *,
    on_event: EventCallback | None = None,
    http: DdiHttp | None = None,
) -> FleetOutcome:
    """Connect to `device`, do what the server assigns to it, and tell the server.

    Raises:
        FleetError, SlotwiseError: before any action was taken (no device, no server, bad
            template); once an action runs, its failure is an outcome, told to the server.
    """
    links: list[SmpClient] = []

    async def connect() -> SmpClient:
        client = SmpClient(open_transport(device), timeout_s=options.smp_timeout_s)
        links.append(client)
        await client.open()
        return client

    own = http is None
    server = DdiHttp(profile) if http is None else http
    try:
        client = await connect()
        with _state_folder_errors(options):
            gateway = DeviceGateway(device, client, server, profile, options)
            return await gateway.run(on_event, connect)
    finally:
        for link in links:
            with contextlib.suppress(SlotwiseError):
                await link.close()
        if own:
            await server.close()


@contextlib.contextmanager
def _state_folder_errors(options: FleetOptions) -> Iterator[None]:
    """The feedback queue and the artifact cache live in `state_dir`: a folder that cannot be
    written (missing parent, read-only, disk full) is one sentence, not a traceback, and in
    `watch` it stops only that device's round."""
    try:
        yield
    except OSError as exc:
        raise FleetError(
            f"cannot use the fleet state folder {options.state_dir}: {exc.strerror or exc}"
        ) from exc


class DeviceGateway:
    """The DDI conversation for one device over one SMP client."""

    def __init__(
        self,
        device: str,
        client: SmpClient,
        http: DdiHttp,
        profile: ServerProfile,
        options: FleetOptions,
    ) -> None:
        self.device = device
        self.client = client
        self.http = http
        self.profile = profile
        self.options = options
        self.cache = ArtifactCache(options.state_dir / "artifacts")
        self.controller_id = ""
        self.queue: FeedbackQueue | None = None
        self.on_event: EventCallback | None = None
        self.details: list[str] = []
        self.verdicts: tuple[Verdict, ...] = ()
        self.poll = Poll(sleep_s=60.0)
        # the action being run
        self.deployment: Deployment | None = None
        self.feedback_url = ""
        self.cancel = asyncio.Event()
        self.cancelable = True
        self.cancel_href: str | None = None
        self.cancel_rejected = False
        self.sender: asyncio.Task[bool] | None = None

    # --- the conversation ---

    async def identify(self) -> str:
        template = self.options.template
        facts = await read_facts(self.client, self.device, setting_names(template))
        if self.options.controller_id:
            return clean_controller_id(self.options.controller_id)
        return controller_id(template, facts)

    async def run(
        self, on_event: EventCallback | None, reconnect: Reconnect | None = None
    ) -> FleetOutcome:
        self.on_event = on_event
        self.controller_id = await self.identify()
        self.queue = FeedbackQueue(self.options.state_dir / "feedback", self.controller_id)
        await self.queue.flush(self.http)  # what an earlier run could not deliver goes first
        base = self.profile.controller_url(self.controller_id)
        self.poll = await self._poll(base)
        self.event(f"controller {self.controller_id}: polled {self.profile.base_url}")
        state = await read_device_state(self.client)
        if self.poll.config_data_href:
            attributes = device_attributes(await read_facts(self.client, self.device, []), state)
            await self.http.put_json(self.poll.config_data_href, config_data_body(attributes))
            self.event(f"sent {len(attributes)} attributes")
            self.poll = await self._poll(base)
        if self.poll.cancel_href and not self.poll.deployment_href:
            await self._acknowledge_stray_cancel(self.poll.cancel_href)
        if not self.poll.deployment_href:
            return self._outcome(Result.NOTHING, "the server assigns nothing to this device")
        deployment = parse_deployment(await self.http.get_json(self.poll.deployment_href))
        self.deployment = deployment
        self.feedback_url = self.poll.deployment_href.split("?", 1)[0] + "/feedback"
        if deployment.download is Handling.SKIP:
            return self._outcome(Result.NOTHING, "the action asks for no download yet")
        if deployment.update is Handling.ATTEMPT and not self.options.install_attempt:
            return self._outcome(Result.DEFERRED, "a soft (attempt) update; deferred")
        watcher = asyncio.create_task(self._watch_server(base))
        try:
            return await self._carry_out(deployment, reconnect)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _carry_out(self, deployment: Deployment, reconnect: Reconnect | None) -> FleetOutcome:
        try:
            images = await self._download_and_verify(deployment)
            if deployment.update is Handling.SKIP:
                self.tell(Execution.DOWNLOADED, Finished.NONE, "downloaded; install later")
                return await self._close(Result.DEFERRED, "download-only action: downloaded")
            if not await self._wait_for_window():
                return await self._close(Result.DEFERRED, "the maintenance window did not open")
            result = await self._install(images, reconnect)
        except _Canceled as exc:
            return await self._finish_canceled(str(exc))
        except (SlotwiseError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            self.tell(Execution.CLOSED, Finished.FAILURE, f"failed: {reason}")
            return await self._close(Result.FAILURE, reason)
        version = ", ".join(i.version.smp_text for i in images)
        if result.ok:
            self.tell(
                Execution.CLOSED,
                Finished.SUCCESS,
                f"success: the device runs {version}",
                progress=(STEPS, STEPS),
            )
            return await self._close(Result.SUCCESS, f"the device runs {version}", version)
        self.tell(Execution.CLOSED, Finished.FAILURE, f"failed: {result.message}")
        return await self._close(Result.FAILURE, result.message)

    async def _download_and_verify(self, deployment: Deployment) -> list[UpdateImage]:
        choice = choose_artifact(deployment)
        artifact = choice.artifact
        self.tell(
            Execution.PROCEEDING,
            Finished.NONE,
            f"downloading {artifact.filename} ({artifact.size} bytes) for {self.device}",
        )

        def got(count: int) -> None:
            if artifact.size:
                self.event(f"downloading {artifact.filename}", count / artifact.size)

        try:
            path, cached = await self.cache.fetch(
                self.http, artifact, on_bytes=got, stop=self.cancel.is_set
            )
        except DownloadStopped as exc:
            raise _Canceled(f"download stopped ({exc})") from None
        checked = ", ".join(sorted(artifact.hashes)) or "no hash"
        where = "from the cache" if cached else "downloaded"
        self.tell(
            Execution.PROCEEDING,
            Finished.NONE,
            f"{where}: {artifact.filename}, size and {checked} match",
            progress=(1, STEPS),
        )
        if path.suffix.lower() == ".swu":
            path = unpack_swu(path, path.parent / "swu")
            self.tell(Execution.PROCEEDING, Finished.NONE, f"unpacked {path.name}")
        self.verdicts = tuple(verify_path(path, self.options.keys))
        images = self._load(path)  # ImageError: the verdict text
        self.tell(
            Execution.PROCEEDING,
            Finished.NONE,
            f"verified: {', '.join(i.version.smp_text for i in images)} ({self._proven(images)})",
            progress=(2, STEPS),
        )
        self._check_canceled()
        return images

    async def _wait_for_window(self) -> bool:
        deployment = self.deployment
        assert deployment is not None  # set by run() before _carry_out
        deadline = time.monotonic() + self.options.window_wait_s
        told = False
        while deployment.maintenance_window == "unavailable":
            if not told:
                self.tell(Execution.SCHEDULED, Finished.NONE, "waiting for the maintenance window")
                told = True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(min(self.poll.sleep_s, self.options.window_wait_s))
            self._check_canceled()
            href = self.feedback_url.removesuffix("/feedback")
            with contextlib.suppress(ServerUnreachable):
                deployment = parse_deployment(await self.http.get_json(href))
        return True

    async def _install(
        self, images: list[UpdateImage], reconnect: Reconnect | None
    ) -> UpdateResult:
        marks = {0.25: 3, 0.5: 4, 0.75: 5, 1.0: 6}
        sent: set[float] = set()
        said_reset = False

        def progress(event: ProgressEvent) -> None:
            nonlocal said_reset
            if event.stage is Stage.UPLOADING and event.total_bytes:
                self.event(f"uploading {event.fraction:.0%}", event.fraction)
                for mark, step in marks.items():
                    if event.fraction >= mark and mark not in sent:
                        sent.add(mark)
                        self.tell(
                            Execution.PROCEEDING,
                            Finished.NONE,
                            f"uploading {mark:.0%}",
                            (step, STEPS),
                        )
                return
            if self.cancelable and event.stage in (Stage.CHECKING, Stage.RESETTING) and sent:
                # The upload is over: from here on the image gets marked, so a cancel that
                # arrives now is refused rather than leaving a half-done device.
                self.cancelable = False
                self.cancel.clear()
            if event.stage is Stage.RESETTING and not said_reset:
                said_reset = True
                self.tell(
                    Execution.PROCEEDING,
                    Finished.NONE,
                    "marked for a test boot; rebooting",
                    (6, STEPS),
                )

        try:
            result = await run_update(
                self.client,
                images,
                # the policy refuses a --clear image again unless the gateway allows it
                UpdateOptions(
                    mode=Mode.TEST, allow_clear_payload=self.options.allowances.clear_payload
                ),
                on_progress=progress,
                cancel=self.cancel,
                reconnect=reconnect,
            )
        except UploadCancelled as exc:
            raise _Canceled(f"upload stopped at {exc.offset} bytes") from None
        finally:
            self.cancelable = False
        if result.client is not None:
            self.client = result.client
        if not result.ok:
            return result
        running = ", ".join(
            f"image {o.image} runs {_version(result, o.image)}" for o in result.images
        )
        self.tell(Execution.PROCEEDING, Finished.NONE, f"rebooted: {running}", (7, STEPS))
        if self.options.mode is FleetMode.CONFIRM:
            for outcome in result.images:
                if outcome.outcome is Outcome.TESTING:
                    await confirm_running(self.client, outcome.image)
            self.tell(
                Execution.PROCEEDING, Finished.NONE, "confirmed the running image", (STEPS, STEPS)
            )
        return result

    async def plan(self) -> FleetPlan:
        """What the server assigns and what `run()` would do, telling the server nothing."""
        cid = await self.identify()
        poll = await self._poll(self.profile.controller_url(cid))
        if not poll.deployment_href:
            return FleetPlan(cid, False, ("The server assigns nothing to this device.",))
        deployment = parse_deployment(await self.http.get_json(poll.deployment_href))
        lines = [
            f"Action {deployment.action_id}: download {deployment.download}, update "
            f"{deployment.update}, maintenance window "
            f"{deployment.maintenance_window or 'none'}."
        ]
        for chunk in deployment.chunks:
            names = ", ".join(a.filename for a in chunk.artifacts) or "no artifacts"
            lines.append(f"Chunk {chunk.part or chunk.name} {chunk.version}: {names}.")
        choice = choose_artifact(deployment)
        path, _ = await self.cache.fetch(self.http, choice.artifact)
        if path.suffix.lower() == ".swu":
            path = unpack_swu(path, path.parent / "swu")
        verdicts = tuple(verify_path(path, self.options.keys))
        try:
            images = self._load(path)
        except ImageError as exc:
            lines.append(f"Apply would refuse {choice.artifact.filename}: {exc}")
        else:
            lines.append(
                f"Apply would install {choice.artifact.filename} in {self.options.mode} mode."
            )
            if any(i.contents_unproven or i.clear_payload for i in images):
                lines.append(f"By explicit choice: {self._proven(images)}.")
        return FleetPlan(
            cid,
            True,
            tuple(lines),
            deployment.action_id,
            choice.artifact.filename,
            verdicts,
            path,
        )

    def _load(self, path: Path) -> list[UpdateImage]:
        """The images to install, by the rule `slotwise upload` applies to a local file."""
        try:
            return load_images_to_upload(path, self.options.keys, self.options.allowances)
        except ContentsUnproven as exc:
            raise ContentsUnproven(f"{exc} The gateway allows it with {ALLOW_ENCRYPTED}.") from exc
        except ClearPayloadRefused as exc:
            raise ClearPayloadRefused(f"{exc}; the gateway allows it with {ALLOW_CLEAR}") from exc

    def _proven(self, images: list[UpdateImage]) -> str:
        """What was checked, for the feedback: an unproven image is never called verified."""
        said = ["signature verified" if self.options.keys else "hash only, no key given"]
        if any(i.contents_unproven for i in images):
            said = [f"signature verified; encrypted, contents NOT checked ({ALLOW_ENCRYPTED})"]
        if any(i.clear_payload for i in images):
            said.append(f"stored in clear for the primary slot ({ALLOW_CLEAR})")
        return "; ".join(said)

    async def _poll(self, base: str) -> Poll:
        """The controller base, its action links made absolute and kept to the server itself:
        the deployment, cancel and configData resources are the DDI server's own, so a link
        elsewhere would send the device's attributes and feedback to another host."""
        poll = parse_poll(await self.http.get_json(base))
        links = {}
        for name in ("deployment_href", "cancel_href", "config_data_href", "installed_href"):
            href = getattr(poll, name)
            if href is None:
                continue
            absolute = urllib.parse.urljoin(base, href)
            if not self.profile.same_origin(absolute):
                raise FleetError(
                    f"the server's {name.removesuffix('_href').replace('_', ' ')} link points "
                    f"to another host ({device_text(absolute, limit=120)}); not followed"
                )
            links[name] = absolute
        return replace(poll, **links)

    # --- cancel ---

    async def _watch_server(self, base: str) -> None:
        """Poll during the action: flush queued feedback, and notice a cancel or a withdrawal."""
        interval = self.options.watch_interval_s or min(self.poll.sleep_s, 5.0)
        pause = interval
        while True:
            await asyncio.sleep(pause)
            try:
                assert self.queue is not None
                await self.queue.flush(self.http)
                poll = await self._poll(base)
                await self._notice_cancel(poll)
                pause = interval
            except ServerUnreachable as exc:
                log.info("%s: server unreachable during the action (%s)", self.controller_id, exc)
                pause = min(pause * 2, 60.0)  # back off; the install goes on
            except FleetError as exc:
                log.warning("%s: poll during the action failed: %s", self.controller_id, exc)

    async def _notice_cancel(self, poll: Poll) -> None:
        deployment = self.deployment
        assert deployment is not None
        if poll.cancel_href:
            cancel = parse_cancel(await self.http.get_json(poll.cancel_href))
            if cancel.stop_id == deployment.action_id:
                self.cancel_href = poll.cancel_href.split("?", 1)[0]
                await self._request_cancel("the server cancelled the action")
                return
        offered = poll.deployment_href and action_id_of(poll.deployment_href)
        if offered != deployment.action_id:
            await self._request_cancel("the server no longer offers the action")

    async def _request_cancel(self, why: str) -> None:
        if self.cancelable:
            if not self.cancel.is_set():
                self.event(f"{why}: stopping")
                self.cancel.set()
            return
        if self.cancel_href and not self.cancel_rejected:
            self.cancel_rejected = True
            self._queue(
                self.cancel_href + "/feedback",
                feedback_body(
                    Execution.REJECTED,
                    Finished.NONE,
                    ["too late to cancel: the image is already marked on the device"],
                ),
            )

    def _check_canceled(self) -> None:
        if self.cancel.is_set():
            raise _Canceled("stopped before anything was written to the device")

    async def _finish_canceled(self, how: str) -> FleetOutcome:
        try:
            state = await read_device_state(self.client)
            running = next((s.version for s in state.slots if s.active), "its old image")
            now = f"the device still runs {running}"
        except SlotwiseError as exc:  # the cancel stands; say what is not known
            now = f"the device could not be read afterwards ({exc})"
        line = f"canceled: {how}; {now}"
        if self.cancel_href:
            url = self.cancel_href + "/feedback"
            self._queue(url, feedback_body(Execution.CANCELED, Finished.NONE, [line]))
            self._queue(url, feedback_body(Execution.CLOSED, Finished.SUCCESS, [line]))
            self.details.append(line)
        else:
            self.details.append(line)
            self._queue(self.feedback_url, feedback_body(Execution.CANCELED, Finished.NONE, [line]))
        return await self._close(Result.CANCELED, line)

    async def _acknowledge_stray_cancel(self, href: str) -> None:
        """A cancel for an action this station is not running: say it is stopped."""
        cancel = parse_cancel(await self.http.get_json(href))
        url = href.split("?", 1)[0] + "/feedback"
        line = f"canceled: action {cancel.stop_id} was not running here"
        self._queue(url, feedback_body(Execution.CLOSED, Finished.SUCCESS, [line]))
        self.details.append(line)
        assert self.queue is not None
        await self.queue.flush(self.http)

    # --- feedback ---

    def tell(
        self,
        execution: Execution,
        finished: Finished,
        line: str,
        progress: tuple[int, int] | None = None,
    ) -> None:
        """Queue one feedback message for the action; it is sent in the background."""
        self.details.append(line)
        self.event(line)
        self._queue(
            self.feedback_url, feedback_body(execution, finished, [line], progress=progress)
        )
        self._send_soon()

    def _send_soon(self) -> None:
        """Send the queue in the background: the device's work never waits on the server."""
        if self.sender is None or self.sender.done():
            assert self.queue is not None
            self.sender = asyncio.create_task(self.queue.flush(self.http))

    def _queue(self, url: str, body: dict[str, object]) -> None:
        assert self.queue is not None
        self.queue.put(url, dict(body))

    async def _close(
        self, result: Result, message: str, version: str | None = None
    ) -> FleetOutcome:
        """Deliver everything queued, trying for `server_wait_s` while the server is away."""
        assert self.queue is not None
        if self.sender is not None:
            with contextlib.suppress(FleetError):
                await self.sender
        deadline = time.monotonic() + self.options.server_wait_s
        pause = 0.5
        while not await self.queue.flush(self.http):
            if time.monotonic() > deadline:
                log.warning("%s: feedback still queued in %s", self.controller_id, self.queue.path)
                return self._outcome(result, message, version, told=False)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)
        return self._outcome(result, message, version, told=True)

    def _outcome(
        self, result: Result, message: str, version: str | None = None, *, told: bool = False
    ) -> FleetOutcome:
        return FleetOutcome(
            controller_id=self.controller_id,
            result=result,
            message=message,
            told_server=told,
            action_id=self.deployment.action_id if self.deployment else None,
            version=version,
            details=tuple(self.details),
            next_poll_s=self.poll.sleep_s,
            verdicts=self.verdicts,
        )

    def event(self, message: str, fraction: float | None = None) -> None:
        log.info("%s: %s", self.controller_id, message)
        if self.on_event is not None:
            self.on_event(FleetEvent(self.controller_id, message, fraction))


def _version(result: UpdateResult, image: int) -> str:
    slot = running_slot(result.slots, image)
    return slot.version if slot is not None else "no image"


async def watch(
    devices: Sequence[str],
    profile: ServerProfile,
    options: FleetOptions,
    *,
    on_outcome: Callable[[str, FleetOutcome | FleetError], None] | None = None,
    on_event: EventCallback | None = None,
    stop: asyncio.Event,
    rounds: int | None = None,
) -> None:
    """The gateway loop: each device is polled at the server's pace and served when it has an
    action, concurrently; errors back off (1, 2, 4 ... up to the poll interval)."""

    http = DdiHttp(profile, workers=min(4 * len(devices), 64))

    async def serve(device: str) -> None:
        failures = 0
        done = 0
        while not stop.is_set() and (rounds is None or done < rounds):
            try:
                outcome = await apply(device, profile, options, on_event=on_event, http=http)
                failures = 0
                pause = outcome.next_poll_s
                report: FleetOutcome | FleetError = outcome
            except SlotwiseError as exc:
                failures += 1
                pause = min(2.0 ** (failures - 1), 300.0)
                report = exc if isinstance(exc, FleetError) else FleetError(str(exc))
            done += 1
            if on_outcome is not None:
                on_outcome(device, report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    try:
        await asyncio.gather(*(serve(d) for d in devices))
    finally:
        await http.close()


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """What `fleet check` learned: what the server assigns and what `apply` would do."""

    controller_id: str
    assigned: bool
    sentences: tuple[str, ...]
    action_id: str | None = None
    artifact: str | None = None
    verdicts: tuple[Verdict, ...] = field(default=(), compare=False)
    image_path: Path | None = None
    """The downloaded (and unpacked) image the verdicts are about."""


async def check(device: str, profile: ServerProfile, options: FleetOptions) -> FleetPlan:
    """Poll for `device` and judge the assigned artifact without telling the server anything
    (no attributes, no feedback); the download lands in the cache for a later apply."""
    async with (
        SmpClient(open_transport(device), timeout_s=options.smp_timeout_s) as client,
        DdiHttp(profile) as http,
    ):
        with _state_folder_errors(options):
            return await DeviceGateway(device, client, http, profile, options).plan()
