"""Headless CLI commands (`lamefair convert`, ...). Each module has `register(parser)`; none imports Qt."""
