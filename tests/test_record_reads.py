"""Record reads as a user sees them: ListRecords (pages by number and by token, id filter, total_count),
BatchGetRecords (request order, unknown ids left out), unknown sections, and tenant isolation."""

from __future__ import annotations

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.helpers import wait_task


async def replace(stack, records: list[record_pb2.Record], *, section: str = "", tenant: str = "acme") -> None:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(section=section, collection="items", records=records),
        metadata=stack.metadata(tenant),
    )
    task = await wait_task(stack, response.task_id, tenant)
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error


async def list_records(stack, tenant: str = "acme", **fields) -> catalog_pb2.ListRecordsResponse:
    fields.setdefault("collection", "items")
    return await stack.catalog.ListRecords(catalog_pb2.ListRecordsRequest(**fields), metadata=stack.metadata(tenant))


async def batch_get(stack, ids: list[str], tenant: str = "acme", **fields) -> list[str]:
    fields.setdefault("collection", "items")
    response = await stack.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(ids=ids, **fields), metadata=stack.metadata(tenant)
    )
    return [r.id for r in response.records]


def keys(response: catalog_pb2.ListRecordsResponse) -> list[tuple[str, str]]:
    return [(r.id, r.context) for r in response.records]


IDS = [f"r{i:02d}" for i in range(20)]
# r09 also exists in a context: two records with one id, which a page boundary may fall between.
ALL = sorted([(i, "") for i in IDS] + [("r09", "s1")])


async def seed(stack) -> None:
    await replace(stack, [record_pb2.Record(id=i, name=f"Item {i}") for i in IDS])
    await replace(stack, [record_pb2.Record(id="r09", context="s1", name="r09 in s1")])


async def test_list_pages_by_number(stack) -> None:
    await seed(stack)
    everything = await list_records(stack)
    assert keys(everything) == ALL and everything.total_count == 21
    assert everything.next_page_token == ""
    assert everything.records[0].name == "Item r00" and everything.records[0].kind == record_pb2.RECORD_KIND_ITEM

    pages = [await list_records(stack, num_results_per_page=8, page=p) for p in (1, 2, 3, 4)]
    assert [len(p.records) for p in pages] == [8, 8, 5, 0]
    assert {p.total_count for p in pages} == {21}
    assert [k for p in pages for k in keys(p)] == ALL
    # page 0 (unset) is the first page.
    assert keys(await list_records(stack, num_results_per_page=8)) == keys(pages[0])


@pytest.mark.parametrize("size", [1, 7, 10])
async def test_list_pages_by_token_see_every_record_once(stack, size: int) -> None:
    await seed(stack)
    seen: list[tuple[str, str]] = []
    token = ""
    pages = 0
    while True:
        page = await list_records(stack, num_results_per_page=size, page_token=token)
        pages += 1
        assert page.total_count == 21
        assert 0 < len(page.records) <= size
        seen += keys(page)
        token = page.next_page_token
        if not token:
            break
    assert seen == ALL
    # No empty page at the end, even when the records fill the last page exactly (size 7: 3 x 7).
    assert pages == -(-21 // size)
    # A token wins over `page`.
    first = await list_records(stack, num_results_per_page=size)
    second = await list_records(stack, num_results_per_page=size, page_token=first.next_page_token, page=5)
    assert keys(second) == ALL[size : 2 * size]


async def test_list_filters_by_id(stack) -> None:
    await seed(stack)
    filtered = await list_records(stack, id=["r05", "nope", "r09", "r01"])
    assert keys(filtered) == [("r01", ""), ("r05", ""), ("r09", ""), ("r09", "s1")]
    assert filtered.total_count == 4 and filtered.next_page_token == ""

    first = await list_records(stack, id=["r05", "r01", "r03"], num_results_per_page=2)
    assert keys(first) == [("r01", ""), ("r03", "")] and first.total_count == 3
    rest = await list_records(stack, id=["r05", "r01", "r03"], num_results_per_page=2, page_token=first.next_page_token)
    assert keys(rest) == [("r05", "")] and rest.next_page_token == ""

    assert (await list_records(stack, id=["nope"])).total_count == 0


async def test_list_rejects_bad_paging(stack) -> None:
    await seed(stack)
    for fields in ({"num_results_per_page": -1}, {"page": -1}, {"page_token": "not a token"}):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await list_records(stack, **fields)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
    # At most 1000 a page.
    assert len((await list_records(stack, num_results_per_page=5000)).records) == 21


async def test_batch_get_keeps_request_order_and_leaves_out_unknown_ids(stack) -> None:
    await seed(stack)
    assert await batch_get(stack, ["r05", "nope", "r01", "r19", "r03"]) == ["r05", "r01", "r19", "r03"]
    assert await batch_get(stack, ["r02", "r02"]) == ["r02"]
    assert await batch_get(stack, ["nope"]) == []
    assert await batch_get(stack, ["r09", "r08"], context="s1") == ["r09"]
    # Another collection of the same catalog holds none of them.
    assert await batch_get(stack, ["r05"], collection="variations") == []


async def test_an_unknown_section_is_not_found(stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await list_records(stack)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "Products" in error.value.details()

    await replace(stack, [record_pb2.Record(id="a")], section="Shoes")
    assert keys(await list_records(stack, section="Shoes")) == [("a", "")]
    for call in (
        lambda: list_records(stack, section="Hats"),
        lambda: list_records(stack),
        lambda: batch_get(stack, ["a"], section="Hats"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call()
        assert error.value.code() == grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await list_records(stack, section="Shoes", collection="shoes")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_sections_are_separate_catalogs(stack) -> None:
    await replace(stack, [record_pb2.Record(id="a", name="in Products")])
    await replace(stack, [record_pb2.Record(id="a", name="in Shoes"), record_pb2.Record(id="b")], section="Shoes")
    products = await list_records(stack, section="Products")
    assert [(r.id, r.name) for r in products.records] == [("a", "in Products")]
    shoes = await list_records(stack, section="Shoes")
    assert [(r.id, r.name) for r in shoes.records] == [("a", "in Shoes"), ("b", "")]


async def test_tenants_never_see_each_others_records(stack) -> None:
    await replace(stack, [record_pb2.Record(id="a", name="acme a"), record_pb2.Record(id="b", name="acme b")])

    # globex has no catalog of that name: NOT_FOUND, not acme's records.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await list_records(stack, tenant="globex")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    # Once globex has its own catalog of the same name, it sees only its own records.
    await replace(stack, [record_pb2.Record(id="a", name="globex a")], tenant="globex")
    theirs = await list_records(stack, tenant="globex")
    assert [(r.id, r.name) for r in theirs.records] == [("a", "globex a")] and theirs.total_count == 1
    assert await batch_get(stack, ["b", "a"], tenant="globex") == ["a"]
    ours = await list_records(stack)
    assert [(r.id, r.name) for r in ours.records] == [("a", "acme a"), ("b", "acme b")]

    # globex's writes cannot reach acme's records either.
    response = await stack.catalog.UpdateRecords(
        catalog_pb2.UpdateRecordsRequest(collection="items", records=[record_pb2.Record(id="b", name="taken")]),
        metadata=stack.metadata("globex"),
    )
    task = await wait_task(stack, response.task_id, "globex")
    assert (task.status, task.error.reason, task.error.record_id) == (
        task_pb2.TASK_STATUS_FAILED,
        "RECORD_NOT_FOUND",
        "b",
    )
    deleted = await stack.catalog.DeleteRecords(
        catalog_pb2.DeleteRecordsRequest(collection="items", records=[record_pb2.Record(id="a")]),
        metadata=stack.metadata("globex"),
    )
    assert (await wait_task(stack, deleted.task_id, "globex")).result.items.deleted == 1
    assert [(r.id, r.name) for r in (await list_records(stack)).records] == [("a", "acme a"), ("b", "acme b")]

    # Nor can acme read globex's tasks.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=response.task_id), metadata=stack.metadata("acme"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_key_naming_another_tenant_is_permission_denied(stack) -> None:
    await replace(stack, [record_pb2.Record(id="a")])
    record = record_pb2.Record(id="a", name="x")
    calls = {
        "ListRecords": catalog_pb2.ListRecordsRequest(key="globex", collection="items"),
        "BatchGetRecords": catalog_pb2.BatchGetRecordsRequest(key="globex", collection="items", ids=["a"]),
        "ReplaceRecords": catalog_pb2.ReplaceRecordsRequest(key="globex", collection="items", records=[record]),
        "UpdateRecords": catalog_pb2.UpdateRecordsRequest(key="globex", collection="items", records=[record]),
        "DeleteRecords": catalog_pb2.DeleteRecordsRequest(key="globex", collection="items", records=[record]),
    }
    for method, request in calls.items():
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await getattr(stack.catalog, method)(request, metadata=stack.metadata("acme"))
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED, method
    # Nothing was queued by the denied writes.
    assert (await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())).total_count == 1
    # The token's own tenant name is fine.
    assert keys(await list_records(stack, key="acme")) == [("a", "")]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await list_records(stack, key="acme", tenant="globex")
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
