"""Thin Qt adapters that run core engines off the UI thread and turn their callbacks into signals."""
