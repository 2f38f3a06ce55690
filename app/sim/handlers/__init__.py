"""One handler function per SMP command, grouped by management group; importing this package
registers them all in `base.HANDLERS`."""

from app.sim.handlers import fs, img, misc, os
from app.sim.handlers.base import HANDLERS

__all__ = ["HANDLERS", "fs", "img", "misc", "os"]
