"""Parts of the main window (ui/main_window.py) read on their own: its actions and menus, and
the upload flow from a drop to the queued files."""
