"""The Segment Tracking API: the routes official client libraries send to, unchanged.

Answers follow what the SDKs expect: 200 when accepted, 400 for anything a retry cannot fix
(SDKs retry other 4xx), 401 for an unknown write key, 429 with Retry-After when rate-limited.
While the profiles lag too far behind, requests are held a while before they are taken
(collect/backpressure.py).

Browser libraries also load their settings from here (Segment's `/v1/projects/KEY/settings`,
RudderStack's `/sourceConfig/`) and RudderStack's sends what is left at page hide with
`navigator.sendBeacon` to `/beacon/v1/batch?writeKey=KEY`; collect/cors.py lets them read the answers.
No route here reads cookies: a browser sends Rapport's own cookies along with a beacon.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import zlib
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Request

from rapport.collect import jsondoc, model
from rapport.collect.log import Appended
from rapport.collect.model import Accepted, EnvelopeError, Rejected
from rapport.collect.service import Source
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import ApiError, JSONResponse

router = APIRouter(tags=["tracking"])


def write_key_from_headers(request: Request) -> str | None:
    header = request.headers.get("x-write-key")
    if header:
        return header.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, or text that is not ASCII before or UTF-8 after decoding
            raise ApiError(401, "invalid_authorization", "the Basic credentials are not valid base64") from None
        return decoded.split(":", 1)[0].strip() or None
    return None


def authenticate(request: Request, key: str | None) -> Source:
    if not key:
        raise ApiError(401, "missing_write_key", "send the source's write key as Basic user, writeKey or X-Write-Key")
    source = request.app.state.sources.by_key(key)
    if source is None:
        raise ApiError(401, "invalid_write_key", "no source has this write key")
    return source


def _decompress(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise EnvelopeError("invalid_gzip", "the body is not valid gzip") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise EnvelopeError("payload_too_large", f"the decompressed body exceeds {limit} bytes")
    return data


async def _read_body(request: Request, limit: int) -> bytes:
    raw = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        return _decompress(raw, limit)
    if encoding not in ("identity", ""):
        raise EnvelopeError("unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; use gzip")
    if len(raw) > limit:
        raise EnvelopeError("payload_too_large", f"the body is {len(raw)} bytes; this source allows {limit}")
    return raw


async def _ingest(request: Request, batch: bool, type_hint: str | None, key_in_query: bool = False) -> JSONResponse:
    received_at = utcnow()
    header_key = write_key_from_headers(request)
    if not header_key and key_in_query:  # sendBeacon can set no header; only the beacon route reads this
        header_key = request.query_params.get("writeKey", "").strip() or None
    source: Source | None = None
    if header_key:
        source = authenticate(request, header_key)
    limit = source.max_batch_bytes if (source and batch) else model.LARGEST_BATCH_BYTES
    if source and not batch:
        limit = source.max_message_bytes
    body = b""
    try:
        body = await _read_body(request, limit)
        try:
            decoded: Any = jsondoc.decode(body)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError("invalid_json", f"the body is not valid JSON: {exc}") from None
        if source is None:
            key = decoded.get("writeKey") if isinstance(decoded, dict) else None
            source = authenticate(request, key if isinstance(key, str) else None)
            own_limit = source.max_batch_bytes if batch else source.max_message_bytes
            if len(body) > own_limit:
                raise EnvelopeError(
                    "payload_too_large", f"the body is {len(body)} bytes; this source allows {own_limit}"
                )
        envelope, messages = model.read_envelope(decoded, received_at, batch)
        if request.headers.get("sec-gpc", "").strip() == "1":  # the browser's Global Privacy Control signal
            context = {**envelope.context, "gpc": True}
            envelope = model.Envelope(context, envelope.integrations, envelope.sent_at, received_at)
    except EnvelopeError as exc:
        if source is not None:
            await _store(request, source, [], [Rejected(exc.code, exc.message, _preview(request, body))])
            request.app.state.ingest_counters.count(source.name, 0, 0, 1)
        raise ApiError(400, exc.code, exc.message) from None
    if request.app.state.lag_gate is not None:  # backpressure: slows this client while profiles lag
        await request.app.state.lag_gate.admit()
    wait = request.app.state.rate_limiter.take(source, max(1, len(messages)))
    if wait:
        seconds = max(1, int(wait + 0.999))
        raise ApiError(
            429, "rate_limited", f"source {source.name!r} is over its rate limit", {"Retry-After": str(seconds)}
        )
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    problems: list[dict[str, Any]] = []
    for index, raw in enumerate(messages):
        result = model.normalize_message(raw, envelope, type_hint=type_hint, max_bytes=source.max_message_bytes)
        if isinstance(result, Accepted):
            accepted.append(result)
        else:
            rejected.append(result)
            problems.append({"index": index, "code": result.code, "message": result.reason})
    appended = await _store(request, source, accepted, rejected)
    request.app.state.ingest_counters.count(source.name, appended.stored, appended.duplicates, len(rejected))
    if not batch and rejected:
        raise ApiError(400, rejected[0].code, rejected[0].reason)
    return JSONResponse(
        {
            "success": True,
            "accepted": len(accepted),
            "duplicates": appended.duplicates,
            "rejected": len(rejected),
            "problems": problems[:100],
            "offset": appended.offset,
        }
    )


def _preview(request: Request, body: bytes) -> dict[str, str]:
    """What a dead letter keeps of a body that could not be read: its first 8 KiB."""
    return {"path": request.url.path, "body": body[:8192].decode("utf-8", "replace").replace("\x00", "\ufffd")}


async def _store(request: Request, source: Source, accepted: list[Accepted], rejected: list[Rejected]) -> Appended:
    future = request.app.state.log_writer.submit(source.id, accepted, rejected)
    appended = await asyncio.wrap_future(future)
    if appended.stored and request.app.state.lag_gate is not None:
        request.app.state.lag_gate.acknowledged(appended.offset)
    return appended


BATCH_PATHS = ("/v1/batch", "/v1/import", "/v1/b")


def _batch_route(path: str) -> None:
    async def receive_batch(request: Request) -> JSONResponse:
        return await _ingest(request, batch=True, type_hint=None)

    router.add_api_route(path, receive_batch, methods=["POST"], name=f"batch:{path}")


def _single_route(path: str, msg_type: str) -> None:
    async def receive_one(request: Request) -> JSONResponse:
        return await _ingest(request, batch=False, type_hint=msg_type)

    router.add_api_route(path, receive_one, methods=["POST"], name=f"{msg_type}:{path}")


for _path in BATCH_PATHS:
    _batch_route(_path)
for _short, _type in model.SHORT_TYPES.items():
    _single_route(f"/v1/{_type}", _type)
    _single_route(f"/v1/{_short}", _type)


@router.post("/beacon/v1/batch", name="batch:/beacon/v1/batch")
async def receive_beacon(request: Request) -> JSONResponse:
    """RudderStack's page-hide path: `navigator.sendBeacon` with a text/plain batch and the key in the URL."""
    return await _ingest(request, batch=True, type_hint=None, key_in_query=True)


def _api_host(request: Request) -> tuple[str, str]:
    """Where this server takes events, as Segment's settings name it: `host[:port][/path]/v1` and the
    scheme. From RAPPORT_PUBLIC_URL, never from the request's Host header: anyone can set that, and an
    answer naming their host, kept by a cache on the way, would send a website's events to them."""
    url = urlsplit(request.app.state.settings.public_url)
    return f"{url.netloc}{url.path.rstrip('/')}/v1", url.scheme


@router.get("/v1/projects/{write_key}/settings")
async def project_settings(request: Request, write_key: str) -> JSONResponse:
    """What analytics.js (`@segment/analytics-next`) loads from its `cdnURL` at start-up: the write key
    and where to send events. Remote metrics are off (`sampleRate` 0): they would go to Segment."""
    source = authenticate(request, write_key)
    api_host, protocol = _api_host(request)
    segment = {"apiKey": source.write_key, "apiHost": api_host, "protocol": protocol}
    return JSONResponse({"integrations": {"Segment.io": segment}, "plan": {"track": {}}, "metrics": {"sampleRate": 0}})


async def source_config(request: Request) -> JSONResponse:
    """What RudderStack's JavaScript SDKs (v3 `@rudderstack/analytics-js`, v2 `rudder-sdk-js`) load from
    their `configUrl`: an enabled source with no device-mode destinations, its error and metrics
    reports off (they would go to RudderStack). The key comes as Basic user or, as the SDKs also send
    it, `?writeKey=`. The source's id is opaque: a holder of the public key learns nothing more."""
    key = write_key_from_headers(request) or request.query_params.get("writeKey", "").strip() or None
    source = authenticate(request, key)
    opaque_id = hashlib.sha256(f"rapport-source:{source.write_key}".encode()).hexdigest()[:24]
    reports_off = {"errors": {"enabled": False}, "metrics": {"enabled": False}}
    return JSONResponse(
        {
            "isHosted": False,
            "source": {
                "id": opaque_id,
                "enabled": True,
                "config": {"statsCollection": reports_off},
                "destinations": [],
            },
        }
    )


# Both spellings (a redirect would cost the SDK a round trip), and HEAD: v3 probes for ad blockers with it.
router.add_api_route("/sourceConfig/", source_config, methods=["GET"], name="source_config")
for _path, _method in (("/sourceConfig/", "HEAD"), ("/sourceConfig", "GET"), ("/sourceConfig", "HEAD")):
    router.add_api_route(
        _path, source_config, methods=[_method], name=f"source_config:{_method}:{_path}", include_in_schema=False
    )
