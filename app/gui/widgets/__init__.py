"""The main window's parts, each built from small `_build_*` methods."""
