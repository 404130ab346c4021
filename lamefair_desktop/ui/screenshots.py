"""Render the main views offscreen to PNG for the README: `make screenshots` (or
`python -m lamefair_desktop.ui.screenshots OUT_DIR [IMAGE]`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop.ui.main_window import MainWindow

    out = Path(argv[0] if argv else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    default = (
        Path(__file__).resolve().parents[2].parent
        / "shared/corpus/tiff/test_tiff_Zeiss_SEM_512pix.tif"
    )
    image = (
        Path(argv[1])
        if len(argv) > 1
        else Path(os.environ.get("LAMEFAIR_SCREENSHOT_IMAGE", default))
    )
    app = QApplication.instance() or QApplication([])
    window = MainWindow(start_local_server=False)
    window.resize(1400, 820)
    window.show()
    loop = QEventLoop()
    window.preview.loaded.connect(lambda _: QTimer.singleShot(300, loop.quit))
    window.preview.failed.connect(lambda _: loop.quit())
    window.preview.open_file(image)
    QTimer.singleShot(30_000, loop.quit)
    loop.exec()
    info = window.preview.info
    if info is not None and info.pixel_x:
        rows, columns = info.frame_shape
        window.preview.show_value_at(columns * 0.4 * info.pixel_x, rows * 0.6 * info.pixel_y)
    app.processEvents()
    target = out / "preview.png"
    window.grab().save(str(target))
    print(target)
    window.preview.close_file()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
