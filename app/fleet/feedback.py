"""Feedback for the server, queued on disk first and sent in order, each exactly once.

Every message is written (and fsynced) to the controller's queue file before it is sent; a
message leaves the queue only after the server answered it. A lost server therefore does not
stop an install: the messages wait in the file and go out, in order, when it is back (also
from a later run). The one case that can repeat a message is a server that took it and then
lost the connection before answering; nothing else is sent twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.fleet.ddi import FleetError
from app.fleet.server import DdiHttp, ServerRefused, ServerUnreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Queued:
    url: str
    body: dict[str, Any]


class FeedbackQueue:
    """`DIR/<controller id>.json`: the unsent messages of one controller, oldest first."""

    def __init__(self, directory: Path, controller_id: str) -> None:
        self.path = directory / f"{controller_id}.json"
        self._lock = asyncio.Lock()  # one sender at a time, or a message could go out twice

    def pending(self) -> list[Queued]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("feedback queue %s unreadable (%s); starting a new one", self.path, exc)
            return []
        if not isinstance(raw, list):
            log.warning("feedback queue %s is not a list; starting a new one", self.path)
            return []
        return [
            Queued(item["url"], item["body"])
            for item in raw
            if isinstance(item, dict)
            and isinstance(item.get("url"), str)
            and isinstance(item.get("body"), dict)
        ]

    def put(self, url: str, body: dict[str, Any]) -> None:
        self._write([*self.pending(), Queued(url, body)])

    async def flush(self, http: DdiHttp) -> bool:
        """Send what is queued, oldest first. True when the queue is empty afterwards.

        A refusal (4xx) drops that message with a warning (the server will never take it);
        an unreachable server stops the flush and keeps the rest.
        """
        async with self._lock:
            return await self._flush(http)

    async def _flush(self, http: DdiHttp) -> bool:
        while items := self.pending():  # re-read: messages may be queued while one is sent
            item = items[0]
            try:
                await http.post_json(item.url, item.body)
            except ServerUnreachable as exc:
                log.info("feedback kept for later (%s)", exc)
                return False
            except ServerRefused as exc:
                log.warning("the server refused a feedback message, dropped: %s", exc)
            except FleetError as exc:  # it answered 2xx, just not with JSON: delivered
                log.debug("feedback answer was not JSON: %s", exc)
            # put() only appends, so the first message is still the one just sent
            self._write(self.pending()[1:])
        return True

    def _write(self, items: list[Queued]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as out:
            json.dump([{"url": i.url, "body": i.body} for i in items], out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
