"""Share links: opened without an account, refused at once when revoked or expired, never
reaching past what they name, made only by those who run the proposal, every use recorded."""

from __future__ import annotations

import os
import time

import httpx

from tests.support.catalog import Api, sha256_hex, start_catalog


def _stored_measurement(operator, experiment: dict, files: dict[str, bytes]) -> dict:
    body = {
        "experiment": experiment["id"],
        "files": [{"path": p, "size": len(d), "sha256": sha256_hex(d)} for p, d in files.items()],
    }
    measurement = operator.ok(operator.post("/api/measurements", body), 201)
    for row in measurement["files"]:
        plan = operator.ok(operator.post(f"/api/files/{row['id']}/upload"))
        httpx.put(
            plan["url"], content=files[row["path"]], headers=plan["headers"]
        ).raise_for_status()
        operator.ok(operator.post(f"/api/files/{row['id']}/complete", {"parts": []}))
    return measurement


def _share(api, expires_in: int = 600, **target) -> dict:
    return api.ok(api.post("/api/shares", {"expires_in": expires_in, **target}), 201)


def test_file_and_folder_links_reach_exactly_what_they_name(admin, operator, anonymous):
    h = admin.make_hierarchy()
    mine = {"a.bin": os.urandom(300), "sub/b.bin": os.urandom(200)}
    measurement = _stored_measurement(operator, h["experiment"], mine)
    other = _stored_measurement(operator, h["experiment"], {"secret.bin": os.urandom(100)})
    by_path = {f["path"]: f for f in measurement["files"]}

    # A file: no token needed; a redirect to a short-lived GET of the right bytes.
    link = _share(operator, file=by_path["a.bin"]["id"], note="for the referee")
    assert link["url"].split("/s/")[1] not in str(admin.get("/api/proposals").text)
    opened = anonymous.http.get(link["url"])
    assert opened.status_code == 307
    assert "X-Amz-Expires=300" in opened.headers["location"]  # minutes, not the link's life
    assert httpx.get(opened.headers["location"]).content == mine["a.bin"]
    assert anonymous.http.get(link["url"] + "/sub/b.bin").status_code == 404

    # A folder: only its own files, each through the share route, and an aria2 input file.
    folder = _share(operator, measurement=measurement["id"])
    listing = anonymous.http.get(folder["url"]).json()
    # The measurement's README.txt (the catalog writes it) is in its folder too.
    assert sorted(f["path"] for f in listing["files"]) == ["README.txt", "a.bin", "sub/b.bin"]
    for entry in (f for f in listing["files"] if f["path"] in mine):
        assert entry["url"].startswith(folder["url"] + "/")
        got = anonymous.http.get(entry["url"], follow_redirects=True)
        assert got.content == mine[entry["path"]]
        assert entry["sha256"] == sha256_hex(mine[entry["path"]])
    aria2 = anonymous.http.get(folder["url"], params={"format": "aria2"}).text
    assert f"{folder['url']}/sub/b.bin\n  out=sub/b.bin\n  checksum=sha-256=" in aria2

    # Path tricks: out of the folder, another measurement's key or file id, all refused.
    secret_key = other["files"][0]["key"]
    depth = secret_key.count("/")
    tricks = [
        "../" + other["files"][0]["key"].rsplit("/", 2)[-2] + "/secret.bin",
        "%2e%2e/%2e%2e/" + "x",
        "..%2F..%2Fsecret.bin",
        "/" + secret_key,
        "../" * depth + secret_key,
        other["files"][0]["id"],
        "sub/../../" + other["files"][0]["key"].rsplit("/", 2)[-2] + "/secret.bin",
        "sub\\..\\..\\secret.bin",
        "sub/",
    ]
    for trick in tricks:
        raw = httpx.Request("GET", folder["url"])
        url = raw.url.copy_with(raw_path=(raw.url.raw_path.decode() + "/" + trick).encode())
        answer = anonymous.http.send(httpx.Request("GET", url))
        assert answer.status_code == 404, (trick, answer.status_code, answer.text)
        assert "amazonaws" not in answer.text
        assert "X-Amz" not in answer.text
    # The API form of the same link answers the same.
    token = folder["url"].rsplit("/", 1)[1]
    assert anonymous.get(f"/api/share/{token}").json()["files"] == listing["files"]

    # Uses are recorded, refused ones too, for the proposal's owners.
    uses = operator.ok(operator.get(f"/api/shares/{folder['id']}/uses"))
    outcomes = [u["outcome"] for u in uses]
    assert outcomes.count("download") == 2
    assert all(u["key"].startswith(folder["key"]) for u in uses if u["outcome"] == "download")
    # Paths that climb out are recorded as "outside" (a raw "/../" the HTTP server already
    # resolved arrives as another, unknown token: refused too, above).
    assert outcomes.count("outside") >= 4
    listed = operator.ok(operator.get(f"/api/proposals/{h['proposal']['id']}/shares"))
    assert {s["id"]: s["uses"] for s in listed}[link["id"]] == 2  # the 307 and the refusal
    assert {s["note"] for s in listed} == {"for the referee", ""}


def test_revoked_and_expired_links_are_refused_at_once(admin, operator, anonymous):
    h = admin.make_hierarchy()
    data = os.urandom(64)
    measurement = _stored_measurement(operator, h["experiment"], {"x.bin": data})
    file_id = measurement["files"][0]["id"]
    link = _share(operator, file=file_id)
    assert anonymous.http.get(link["url"]).status_code == 307
    revoked = admin.ok(admin.post(f"/api/shares/{link['id']}/revoke"))
    assert revoked["state"] == "revoked"
    assert revoked["revoked_by"] == "pi-alice"
    refused = anonymous.http.get(link["url"])
    assert refused.status_code == 410
    assert "revoked" in refused.json()["detail"]

    short = _share(operator, expires_in=1, file=file_id)
    time.sleep(1.2)
    expired = anonymous.http.get(short["url"])
    assert expired.status_code == 410
    assert "expired" in expired.json()["detail"]
    assert anonymous.http.get(link["url"][:-4] + "AAAA").status_code == 404

    outcomes = [u["outcome"] for u in operator.ok(operator.get(f"/api/shares/{link['id']}/uses"))]
    assert outcomes == ["download", "revoked"]
    # Longer than the server's maximum (30 days by default) is refused, naming the bound.
    too_long = operator.post("/api/shares", {"file": file_id, "expires_in": 31 * 86400})
    assert too_long.status_code == 422
    assert "30 days" in too_long.json()["detail"]


def test_only_those_running_the_proposal_make_and_revoke_links(
    admin, operator, member, outsider, anonymous
):
    h = admin.make_hierarchy()  # members: team-x (carol)
    measurement = _stored_measurement(operator, h["experiment"], {"y.bin": os.urandom(10)})
    file_id = measurement["files"][0]["id"]
    bucket, key = h["proposal"]["raw_bucket"], measurement["files"][0]["key"]
    for who in (outsider, member):  # outside the proposal; a member who only reads
        for target in ({"file": file_id}, {"bucket": bucket, "key": key}):
            refused = who.post("/api/shares", {"expires_in": 60, **target})
            assert refused.status_code == 403, refused.text  # no route (404) is not a refusal
        assert who.get(f"/api/proposals/{h['proposal']['id']}/shares").status_code == 403
    assert anonymous.post("/api/shares", {"expires_in": 60, "file": file_id}).status_code == 401

    # Bad targets are named: none at all, a key that climbs, an object that is not there.
    none = operator.post("/api/shares", {"expires_in": 60})
    assert none.status_code == 422
    assert "exactly one of" in none.json()["detail"]
    climbs = operator.post("/api/shares", {"expires_in": 60, "bucket": bucket, "key": "a/../b"})
    assert climbs.status_code == 422
    assert "'..'" in climbs.json()["detail"]
    absent = operator.post("/api/shares", {"expires_in": 60, "bucket": bucket, "key": key + "x"})
    assert absent.status_code == 404
    assert "does not exist" in absent.json()["detail"]

    link = _share(admin, bucket=bucket, key=key)
    assert operator.post(f"/api/shares/{link['id']}/revoke").status_code == 403  # not its maker
    assert outsider.post(f"/api/shares/{link['id']}/revoke").status_code == 403
    assert anonymous.http.get(link["url"]).status_code == 307


def test_presigned_links_say_the_servers_lifetime(admin, operator):
    h = admin.make_hierarchy()
    measurement = _stored_measurement(operator, h["experiment"], {"z.bin": b"z"})
    bucket, key = h["proposal"]["raw_bucket"], measurement["files"][0]["key"]
    signed = operator.ok(operator.post(f"/api/buckets/{bucket}/presign", {"keys": [key]}))
    # The catalog runs with the default LAMEFAIR_PRESIGN_TTL; the answer says what it signed.
    assert signed["urls"][0]["expires_in"] == 3600
    assert "X-Amz-Expires=3600" in signed["urls"][0]["url"]


def test_share_dialog_makes_copies_and_revokes(qtbot, admin, operator, anonymous, tmp_path):
    from PySide6.QtGui import QGuiApplication

    from lamefair_desktop.catalog.client import CatalogClient
    from lamefair_desktop.ui.dialogs.share_dialog import ShareDialog

    h = admin.make_hierarchy()
    data = os.urandom(128)
    measurement = _stored_measurement(operator, h["experiment"], {"grid.tif": data})
    client = CatalogClient(operator.base_url, operator.token, attempts=1)
    dialog = ShareDialog(
        client, {"measurement": measurement["id"]}, "TEM session 1 / grid", h["proposal"]["id"]
    )
    qtbot.addWidget(dialog)
    dialog.expiry.setCurrentIndex(1)  # 1 day
    dialog.note.setText("for Dr. Chen's review")
    dialog.show()
    dialog.create_button.click()
    qtbot.waitUntil(
        lambda: bool(dialog.link.text()) and dialog.table.rowCount() == 1, timeout=10_000
    )
    dialog.copy_button.click()
    url = QGuiApplication.clipboard().text()
    assert url == dialog.link.text()
    listing = anonymous.http.get(url).json()
    assert {f["path"] for f in listing["files"]} == {"README.txt", "grid.tif"}
    assert dialog.table.item(0, 1).text() == "for Dr. Chen's review"
    dialog.table.selectRow(0)
    dialog.grab().save(str(tmp_path / "share-link.png"))

    dialog.revoke_button.click()
    qtbot.waitUntil(lambda: dialog.table.item(0, 3).text() == "revoked", timeout=10_000)
    assert anonymous.http.get(url).status_code == 410
    assert not dialog.revoke_button.isEnabled()
    # More than the server allows: the catalog's message, in the dialog.
    dialog.expiry.setItemData(3, 400 * 86400)
    dialog.expiry.setCurrentIndex(3)
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.problem.isVisible(), timeout=10_000)
    assert "30 days at most" in dialog.problem.text()

    # The bucket browser's Share link… shares the selected entry, by bucket and key.
    from lamefair_desktop.home.settings import Settings
    from lamefair_desktop.ui.panels.bucket_browser import BucketBrowser

    browser = BucketBrowser()
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.buckets_loaded, timeout=10_000):
        browser.attach(client, Settings())
    assert browser.select_bucket(h["proposal"]["raw_bucket"])
    folder = measurement["files"][0]["key"].rsplit("/", 1)[0] + "/"
    browser.go(folder)
    qtbot.waitUntil(lambda: browser.select_name("grid.tif"), timeout=10_000)
    shared = browser.share_selected()
    qtbot.addWidget(shared)
    bucket = h["proposal"]["raw_bucket"]
    assert shared.target == {"bucket": bucket, "key": measurement["files"][0]["key"]}
    shared.create_button.click()
    qtbot.waitUntil(lambda: bool(shared.link.text()), timeout=10_000)
    got = anonymous.http.get(shared.link.text(), follow_redirects=True)
    assert got.content == data
    client.close()


def test_links_point_at_the_public_address_behind_a_proxy(seaweed, oidc_provider, tokens, tmp_path):
    """Behind a proxy that terminates TLS the request reaches the catalog as http:// on an inner
    name, and a link built on that would not open for the person it is handed to: with
    LAMEFAIR_PUBLIC_URL links (and a folder's per-file links) are built on the public address."""
    from tests.support.catalog import ADMIN, OPERATOR

    public = "https://catalog.lab.example/em"
    server = start_catalog(
        f"sqlite:///{tmp_path / 'catalog.sqlite'}",
        seaweed,
        oidc_provider.issuer,
        tmp_path,
        LAMEFAIR_PUBLIC_URL=public + "/",
    )
    try:
        admin, operator = (Api(server.url, tokens[who[0]]) for who in (ADMIN, OPERATOR))
        h = admin.make_hierarchy()
        measurement = _stored_measurement(operator, h["experiment"], {"a.bin": b"x" * 10})
        link = _share(operator, measurement=measurement["id"])
        assert link["url"].startswith(public + "/s/")
        # What the proxy forwards (the same path) opens it, and the listing points outward too.
        inner = server.url + link["url"].removeprefix(public)
        listing = httpx.get(inner).json()
        assert [f["url"] for f in listing["files"] if f["path"] == "a.bin"] == [
            link["url"] + "/a.bin"
        ]
    finally:
        server.stop()
