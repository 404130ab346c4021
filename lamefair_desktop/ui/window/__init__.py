"""Parts of the main window (ui/main_window.py) read on their own, one concern each: its actions
and menus, the connection to the catalog and the engines, editing, files, export, the upload flow
from a drop to the queued files, settings, closing, and what it remembers between runs."""
