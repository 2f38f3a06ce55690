"""Qt item models that mirror core values; they do no I/O."""

from app.gui.models.devices import DeviceFilterModel, DeviceListModel
from app.gui.models.slots import Badge, slot_badges

__all__ = ["Badge", "DeviceFilterModel", "DeviceListModel", "slot_badges"]
