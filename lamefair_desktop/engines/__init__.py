"""The background engines of one catalog (uploads, conversions, watch folders) run together, the
child process they run in for the window, and the workspace a window opens (no Qt)."""
