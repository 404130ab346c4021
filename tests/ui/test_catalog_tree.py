"""The catalog tree: Qt-free nodes with load states, and the thin lazy Qt model over them."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtTest import QAbstractItemModelTester

from lamefair_desktop.catalog.sync import CatalogCache
from lamefair_desktop.catalog.tree import CatalogTree, LoadState, matches
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.ui.models.catalog_tree_model import KIND_ROLE, CatalogTreeModel

SERVER = "http://127.0.0.1:1"


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def cache(tmp_path) -> CatalogCache:
    cache = CatalogCache(open_local_db(tmp_path / "cache.sqlite"), SERVER)
    project, proposal, sample, experiment = _id(), _id(), _id(), _id()
    measurement = _id()
    with cache.sessions() as session:
        cache.put(session, "project", {"id": project, "name": "Oxides"})
        cache.put(session, "proposal", {"id": proposal, "project": project, "number": "2026-17"})
        cache.put(
            session,
            "sample",
            {
                "id": sample,
                "proposal": proposal,
                "name": "LSMO film",
                "identifier": "S-42",
                "atom_types": ["La", "Sr", "Mn", "O"],
                "preparation_date": "2026-10-01",
            },
        )
        cache.put(
            session,
            "sample",
            {"id": _id(), "proposal": proposal, "name": "Si wafer", "atom_types": ["Si"]},
        )
        cache.put(session, "experiment", {"id": experiment, "sample": sample, "name": "HRSTEM"})
        cache.put(
            session,
            "measurement",
            {
                "id": measurement,
                "experiment": experiment,
                "slug": "20261120-090000-abcd",
                "files": [
                    {"id": _id(), "measurement": measurement, "path": "a.tif", "state": "stored"},
                    {"id": _id(), "measurement": measurement, "path": "b.tif", "state": "failed"},
                ],
            },
        )
        session.commit()
    return cache


def test_tree_loads_level_by_level_and_drops_stale_answers(cache):
    tree = CatalogTree()
    request = tree.begin_load(tree.root)
    assert tree.root.state is LoadState.LOADING
    assert tree.finish_load(request, CatalogTree.fetch_children(cache, request))
    (project,) = tree.root.children
    assert project.label() == "Oxides (1)"
    stale = tree.begin_load(project)
    fresh = tree.begin_load(project)
    assert fresh is None  # already loading: no second query
    project.state = LoadState.NOT_LOADED  # a reload while the first answer is in flight
    newer = tree.begin_load(project)
    assert not tree.finish_load(stale, CatalogTree.fetch_children(cache, stale))
    assert tree.finish_load(newer, CatalogTree.fetch_children(cache, newer))
    (proposal,) = project.children
    assert proposal.name == "2026-17"
    request = tree.begin_load(proposal)
    tree.finish_load(request, CatalogTree.fetch_children(cache, request))
    names = [n.name for n in proposal.children]
    assert names == ["LSMO film", "Si wafer"]
    lsmo = proposal.children[0]
    assert matches(lsmo, "s-42")
    assert matches(lsmo, "Mn")
    assert matches(lsmo, "2026-10")
    assert not matches(proposal.children[1], "Mn")


def test_qt_model_is_consistent_and_lazy(qtbot, cache):
    model = CatalogTreeModel(cache)
    assert model.rowCount() == 0
    assert model.canFetchMore(model.index(-1, 0))
    # Qt's model tester asks for the root's children itself, as a view would.
    with qtbot.waitSignal(model.children_loaded, timeout=10_000):
        QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    assert model.rowCount() == 1
    index = model.index(0, 0)
    assert index.data() == "Oxides (1)"
    assert index.data(KIND_ROLE) == "project"
    # Walk down to the files, level by level, each loaded on a worker.
    for _ in range(5):
        assert model.hasChildren(index)
        with qtbot.waitSignal(model.children_loaded, timeout=10_000):
            model.fetchMore(index)
        index = model.index(0, 0, index)
    assert index.data(KIND_ROLE) == "file"
    files = [model.index(r, 0, index.parent()).data() for r in range(2)]
    assert files == ["✓ a.tif", "✗ b.tif"]
    assert not model.hasChildren(index)


def test_ten_thousand_experiments_load_in_one_answer(qtbot, tmp_path):
    cache = CatalogCache(open_local_db(tmp_path / "big.sqlite"), SERVER)
    sample = _id()
    with cache.sessions() as session:
        for i in range(10_000):
            cache.put(session, "experiment", {"id": _id(), "sample": sample, "name": f"e{i:05d}"})
        session.commit()
    model = CatalogTreeModel(cache)
    with qtbot.waitSignal(model.children_loaded, timeout=10_000):  # the (empty) root
        QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    tree_root = model.tree.root
    from lamefair_desktop.catalog.tree import TreeNode

    holder = TreeNode("sample", sample, "s", parent=tree_root)
    model.beginInsertRows(model.index(-1, 0), 0, 0)
    tree_root.children.append(holder)
    tree_root.state = LoadState.LOADED
    model.endInsertRows()
    parent = model.index(0, 0)
    with qtbot.waitSignal(model.children_loaded, timeout=60_000):
        model.fetchMore(parent)
    assert model.rowCount(parent) == 10_000
    assert model.index(9_999, 0, parent).data() == "e09999"


def test_every_catalog_level_has_a_crisp_icon_at_high_dpi(qtbot):
    from lamefair_desktop.catalog.tree import CHILD_KIND
    from lamefair_desktop.ui.models.catalog_tree_model import kind_icon

    for kind in [*CHILD_KIND.values()]:
        icon = kind_icon(kind)
        image = icon.pixmap(64, 64).toImage()  # a 4x pixmap of a 16 px icon: vector, not blurred
        assert not icon.isNull(), kind
        assert (image.width(), image.height()) == (64, 64), kind
        colours = {image.pixel(x, y) for x in range(0, 64, 4) for y in range(0, 64, 4)}
        assert len(colours) > 2, f"{kind}: the SVG did not render"
