"""Headless CLI: the `lamefair` command and one module per command group; none imports Qt."""
