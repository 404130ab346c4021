"""Thin routes, one module per resource: parse, authenticate, call a domain command, return."""
