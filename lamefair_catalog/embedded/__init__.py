"""Embedded mode: one person, one machine, nothing to configure (SQLite and a SeaweedFS child)."""
