"""This PC's own state: folders, settings, the local database and its tables, the preview cache,
diagnostics. The bottom layer: imports nothing else from lamefair_desktop but `hashing`."""
