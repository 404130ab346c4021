"""Speed and memory figures (`make bench`): measured side by side in one run, printed, never asserted."""
