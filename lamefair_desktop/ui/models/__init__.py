"""Thin Qt item models over the Qt-free trees and lists of the core."""
