"""Dialogs: confirmations, adding a device, settings."""
