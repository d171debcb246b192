"""What the client commands call: the gRPC server (default) or the REST gateway (`--http URL`).

Both answer in the REST gateway's JSON shapes (a task as GET /v1/tasks/{id} shows it, records as
GET /v2/{collection} does), so the commands print one format whichever way they went.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import orjson

from catalog_ingest_client import Client, Progress, UploadMode
from catalog_ingest_client.jsonshape import message_to_json, record_to_json
from catalog_ingest_client.retry import RetryPolicy, retry_after_header

JsonDict = dict[str, Any]
ProgressCallback = Callable[[Progress], None]


class ConnectionProblem(Exception):
    """The server could not be reached or answered that it is unavailable (exit code 3)."""


class RequestFailed(Exception):
    """The server refused the request; the message says why (exit code 1)."""


class GrpcBackend:
    def __init__(self, target: str, token: str | None, *, tls: bool, cacert: str | None) -> None:
        self.target = target
        self.client = Client(target, token, tls=tls, root_certificates=cacert)

    def close(self) -> None:
        self.client.close()

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            details = error.details() if hasattr(error, "details") else str(error)
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise ConnectionProblem(f"{self.target}: {details}") from None
            raise RequestFailed(f"{code.name if code else 'ERROR'}: {details}") from None

    def upload(
        self,
        section: str,
        files: Mapping[str, Path],
        *,
        delta: bool,
        patch_delta: bool,
        force: bool,
        on_progress: ProgressCallback,
    ) -> JsonDict:
        mode = UploadMode.DELTA if delta else UploadMode.SYNC
        reply = self._call(
            lambda: self.client.upload_catalog(
                section, **files, mode=mode, patch_delta=patch_delta, force=force, on_progress=on_progress
            )
        )
        return message_to_json(reply)

    def get_task(self, task_id: int) -> JsonDict:
        return message_to_json(self._call(lambda: self.client.get_task(task_id)))

    def cancel_task(self, task_id: int) -> JsonDict:
        return message_to_json(self._call(lambda: self.client.cancel_task(task_id)))

    def list_tasks(self, **filters: Any) -> JsonDict:
        return message_to_json(self._call(lambda: self.client.list_tasks(**filters)))

    def watch(self, task_id: int, timeout: float | None) -> Iterator[JsonDict]:
        stream = self.client.watch(task_id, timeout=timeout)
        while True:
            task = self._call(lambda: next(stream, None))
            if task is None:
                return
            yield message_to_json(task)

    def list_records(
        self, collection: str, *, section: str, ids: list[str], page_size: int, page_token: str
    ) -> JsonDict:
        reply = self._call(
            lambda: self.client.list_records(
                collection, section=section, ids=ids, page_size=page_size, page_token=page_token
            )
        )
        out: JsonDict = {collection: [record_to_json(r) for r in reply.records], "total_count": reply.total_count}
        if reply.next_page_token:
            out["next_page_token"] = reply.next_page_token
        return out

    def get_records(self, collection: str, ids: list[str], *, section: str) -> JsonDict:
        records = self._call(lambda: self.client.get_records(collection, ids, section=section))
        return {collection: [record_to_json(r) for r in records]}


class HttpBackend:
    """The REST gateway at `base_url`: the documented paths, the token as `Authorization: Bearer`."""

    def __init__(self, base_url: str, token: str | None, *, cacert: str | None) -> None:
        import httpx  # only the --http path pays for importing it

        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: Any = cacert if cacert else True
        self.retry = RetryPolicy()
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=verify)

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        """One request; a GET answered 429 or 503 is sent again after its Retry-After (reads are safe)."""
        import httpx

        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as error:
                raise ConnectionProblem(f"{self.base_url}: {error}") from None
            if method != "GET" or response.status_code not in (429, 503) or attempt >= self.retry.max_attempts:
                return _answer(response, self.base_url)
            time.sleep(retry_after_header(response.headers.get("Retry-After"), self.retry, attempt))

    def upload(
        self,
        section: str,
        files: Mapping[str, Path],
        *,
        delta: bool,
        patch_delta: bool,
        force: bool,
        on_progress: ProgressCallback,
    ) -> JsonDict:
        boundary = uuid.uuid4().hex
        params = {"force": str(force).lower()}
        if section:
            params["section"] = section
        if patch_delta:
            params["patch_delta"] = "true"
        body = _multipart(files, boundary, on_progress)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self._send("PATCH" if delta else "PUT", "/v1/catalog", params=params, content=body, headers=headers)

    def get_task(self, task_id: int) -> JsonDict:
        return self._send("GET", f"/v1/tasks/{task_id}")

    def cancel_task(self, task_id: int) -> JsonDict:
        return self._send("POST", f"/v1/tasks/{task_id}:cancel")

    def list_tasks(
        self, *, section: str = "", status: str = "", type: str = "", page_size: int = 0, page_token: str = ""
    ) -> JsonDict:
        params = {"section": section, "status": status, "type": type, "page_token": page_token}
        params = {k: v for k, v in params.items() if v}
        if page_size:
            params["num_results_per_page"] = str(page_size)
        return self._send("GET", "/v1/tasks", params=params)

    def watch(self, task_id: int, timeout: float | None) -> Iterator[JsonDict]:
        """GET /v1/tasks/{id}:watch, the Server-Sent Events stream."""
        import httpx

        try:
            with self.http.stream(
                "GET", f"/v1/tasks/{task_id}:watch", timeout=httpx.Timeout(30, read=timeout)
            ) as response:
                if response.status_code != 200:
                    response.read()
                    _answer(response, self.base_url)
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = orjson.loads(line.removeprefix("data: "))
                        if event == "error":
                            raise RequestFailed(f"{data.get('code', 'ERROR')}: {data.get('message', '')}")
                        yield data
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as error:
            raise ConnectionProblem(f"{self.base_url}: {error}") from None

    def list_records(
        self, collection: str, *, section: str, ids: list[str], page_size: int, page_token: str
    ) -> JsonDict:
        params: list[tuple[str, str]] = [("id", i) for i in ids]
        if section:
            params.append(("section", section))
        if page_size:
            params.append(("num_results_per_page", str(page_size)))
        if page_token:
            params.append(("page_token", page_token))
        return self._send("GET", f"/v2/{collection}", params=params)

    def get_records(self, collection: str, ids: list[str], *, section: str) -> JsonDict:
        reply = self.list_records(collection, section=section, ids=ids, page_size=0, page_token="")
        return {collection: reply[collection]}


def _answer(response: Any, base_url: str) -> Any:
    if response.status_code in (502, 503, 504):
        raise ConnectionProblem(f"{base_url}: HTTP {response.status_code} {response.text[:200]}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        if isinstance(body, dict):
            code = body.get("code", f"HTTP {response.status_code}")
            raise RequestFailed(f"{code}: {body.get('message', '')}")
        raise RequestFailed(f"HTTP {response.status_code}: {response.text[:200]}")
    return body


def _multipart(files: Mapping[str, Path], boundary: str, on_progress: ProgressCallback) -> Iterator[bytes]:
    """The multipart body, streamed from the files in 1 MiB chunks, counting the file bytes sent."""
    sizes = [os.path.getsize(path) for path in files.values()]
    progress = Progress(bytes_total=sum(sizes))
    for name, path in files.items():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{Path(path).name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        with open(path, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk
                progress.bytes_sent += len(chunk)
                progress.messages_sent += 1
                on_progress(progress)
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
