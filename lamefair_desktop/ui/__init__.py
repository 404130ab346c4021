"""Qt views, item models and dialogs. The only place (with `workers/`) that imports Qt."""
