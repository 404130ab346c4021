"""The main window's tabs and side panels: each a widget over its models and workers."""
