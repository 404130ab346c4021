"""The Qt binding itself: PySide6 6.12.0's Signal.emit() hands back True without a reference of its
own, so every emit from Python takes one from True, and after a few thousand (a watch burst, a long
upload's progress) the process aborts with "bool_dealloc: deallocating True". pyproject.toml
excludes that version; this says so plainly, rather than as an abort deep in another test."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Sender(QObject):
    changed = Signal(object)
    ticked = Signal()


def test_emitting_a_signal_leaves_python_s_constants_alone():
    sender = _Sender()
    sender.changed.connect(lambda _value: None)
    sender.ticked.connect(lambda: None)
    before = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    for index in range(20):  # few: where it leaks, every reference taken brings the abort closer
        sender.changed.emit(index)
        sender.ticked.emit()
    after = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert min(drift) > -20, (
        f"each emit dropped a reference to True/False/None {drift}: this PySide6 "
        "(6.12.0?) aborts after a few thousand emits; install another version"
    )
