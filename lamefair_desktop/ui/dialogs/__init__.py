"""Dialogs, built in code: small, composed, validation shown on the field concerned."""
