"""Watch folders: the rules, the ledger of what was taken, the folder watcher and the service that
registers and uploads what settles in a watched folder (no Qt)."""
