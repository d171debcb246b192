"""PUT and PATCH /v1/catalog as the documents show them: curl, multipart files, -u"[token]:"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.helpers import eventually

ITEMS = "id,item_name,url,keywords,active\nshoe,Shoe,https://x/shoe,run|fast,true\nhat,Hat,https://x/hat,,false\n"
VARIATIONS = "variation_id,item_id,item_name\nshoe-42,shoe,Shoe 42\n"
GROUPS = "id,name,parent_ids\ng1,Shoes,[]\n"


async def curl(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-w", "\n%{http_code}", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    body, _, code = out.decode().rpartition("\n")
    return int(code), body


async def task_done(stack, task_id: int) -> dict:
    async def probe() -> dict:
        response = await stack.http.get(f"/v1/task/{task_id}", headers=stack.auth())
        return response.json()

    return await eventually(probe, lambda task: task["status"] in ("DONE", "FAILED"))


def files(tmp_path: Path) -> Path:
    folder = tmp_path / "path" / "to"
    folder.mkdir(parents=True)
    (folder / "items.csv").write_text(ITEMS)
    (folder / "variations.csv").write_text(VARIATIONS)
    (folder / "item_groups.csv").write_text(GROUPS)
    return tmp_path


async def test_the_documented_put_and_patch_work_as_written(http_stack, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{http_stack.settings.http_port}"
    token = http_stack.tokens["acme"]
    folder = files(tmp_path)
    # The document's command, with its placeholders filled in.
    code, body = await curl(
        "-X", "PUT",
        "-F", f"items=@{folder}/path/to/items.csv",
        "-F", f"variations=@{folder}/path/to/variations.csv",
        "-F", f"item_groups=@{folder}/path/to/item_groups.csv",
        f"-u{token}:", f"{base}/v1/catalog?key=acme&section=Products&notification_email=ops@example.com&force=True",
    )  # fmt: skip
    assert code == 200, body
    answer = json.loads(body)
    assert answer == {"task_id": answer["task_id"], "task_status_path": f"/v1/task/{answer['task_id']}"}
    assert isinstance(answer["task_id"], int)
    task = await task_done(http_stack, answer["task_id"])
    assert task["status"] == "DONE" and task["type"] == "catalog_sync", task
    items = (await http_stack.http.get("/v2/items", params={"key": "acme"}, headers=http_stack.auth())).json()
    shoe = {i["id"]: i for i in items["items"]}["shoe"]
    assert shoe.pop("update_time").endswith("Z")
    assert shoe == {
        "id": "shoe",
        "name": "Shoe",
        "data": {"url": "https://x/shoe", "keywords": ["run", "fast"], "active": True},
        "version": 1,
    }
    variations = (await http_stack.http.get("/v2/variations", headers=http_stack.auth())).json()
    assert variations["variations"][0]["item_id"] == "shoe"

    (folder / "path/to/items.csv").write_text("id,item_name,url\nhat,,https://x/new-hat\n")
    code, body = await curl(
        "-X", "PATCH",
        "-F", f"items=@{folder}/path/to/items.csv",
        f"-u{token}:",
        f"{base}/v1/catalog?key=acme&section=Products&notification_email=ops@example.com&force=True"
        "&patch_delta=True",
    )  # fmt: skip
    assert code == 200, body
    task = await task_done(http_stack, json.loads(body)["task_id"])
    assert task["status"] == "DONE" and task["result"]["items"]["updated"] == 1, task
    hat = (await http_stack.http.get("/v2/items?id=hat", headers=http_stack.auth())).json()["items"][0]
    assert hat["name"] == "Hat" and hat["data"] == {"url": "https://x/new-hat", "active": False}


async def test_a_failed_upload_reports_file_row_and_column_over_http(http_stack) -> None:
    response = await http_stack.http.put(
        "/v1/catalog",
        params={"key": "acme"},
        files={"items": ("items.csv", b"id,item_name\na,A\na,B\n", "text/csv")},
        headers=http_stack.auth(),
    )
    assert response.status_code == 200, response.text
    task = await task_done(http_stack, response.json()["task_id"])
    assert task["status"] == "FAILED"
    assert task["error"] == {
        "reason": "DUPLICATE_ID",
        "message": "items.csv, row 3, column 'id': duplicate id 'a' (first on row 2)",
        "file": "items.csv",
        "row": 3,
        "column": "id",
        "record_id": "a",
        "version_conflicts": [],
    }


async def test_bad_uploads_are_clear_400s_and_create_no_task(http_stack) -> None:
    auth = http_stack.auth()
    cases = [
        (dict(content=b"id\nx\n", headers={**auth, "Content-Type": "text/csv"}), "Content-Type"),
        (dict(files={"products": ("p.csv", b"id\nx\n")}, headers=auth), "products"),
        (dict(files={"items": ("i.csv", b"id\nx\n")}, params={"patch_delta": "true"}, headers=auth), "patch_delta"),
        (dict(files={"items": ("i.csv", b"id\nx\n")}, params={"force": "sometimes"}, headers=auth), "force"),
        (dict(files={"note": (None, b"no files")}, headers=auth), "note"),
    ]
    for kwargs, field in cases:
        response = await http_stack.http.put("/v1/catalog", **kwargs)
        assert response.status_code == 400, (field, response.text)
        assert field in response.json()["message"], response.text
    unauthenticated = await http_stack.http.put("/v1/catalog", files={"items": ("i.csv", b"id\nx\n")})
    assert unauthenticated.status_code == 401
    denied = await http_stack.http.put(
        "/v1/catalog", params={"key": "globex"}, files={"items": ("i.csv", b"id\nx\n")}, headers=auth
    )
    assert denied.status_code == 403
    tasks = (await http_stack.http.get("/v1/tasks", headers=auth)).json()
    assert tasks["total_count"] == 0


async def test_an_empty_items_file_is_a_sync_to_no_items(http_stack) -> None:
    auth = http_stack.auth()
    first = await http_stack.http.put("/v1/catalog", files={"items": ("i.csv", b"id\na\n")}, headers=auth)
    assert (await task_done(http_stack, first.json()["task_id"]))["status"] == "DONE"
    emptied = await http_stack.http.put(
        "/v1/catalog", params={"force": "true"}, files={"items": ("i.csv", b"id\n")}, headers=auth
    )
    task = await task_done(http_stack, emptied.json()["task_id"])
    assert task["status"] == "DONE" and task["result"]["items"]["deleted"] == 1
