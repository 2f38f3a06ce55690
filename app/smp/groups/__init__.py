"""One module per management group; importing this package registers every request type."""

from app.smp.groups import enum, fs, img, log, os, settings, shell, stat, zbasic

__all__ = ["enum", "fs", "img", "log", "os", "settings", "shell", "stat", "zbasic"]
