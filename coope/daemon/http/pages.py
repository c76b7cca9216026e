"""Pages: the tree, covers, trash, search and content."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from coope.core.models import Principal
from coope.core.rules import COVER_MAX_BYTES
from coope.core.schemas import Id
from coope.core.workspace_schemas import (
    BlockAddedOut,
    BlockIn,
    BlockOut,
    ContentOut,
    IconIn,
    MarkdownIn,
    MoveIn,
    PageCreatedOut,
    PageHitOut,
    PageIdsOut,
    PageIn,
    PageListOut,
    PageOut,
    PageSearchOut,
    PageSearchQuery,
    TitleIn,
    UpdateOut,
)
from coope.daemon.http.keys import CONFIG, SERVICES
from coope.daemon.http.routes import RouteTable, WithStatus, WorkspacePath, read_limited
from coope.daemon.services.cover_images import COVER_MAX_PIXELS

routes = RouteTable("pages")


class PagePath(BaseModel):
    page_id: Id


@routes.post(
    "/api/v1/workspaces/{workspace_id}/pages",
    summary="Create a page (optionally under a parent, with Markdown content). Titles are"
    " unique among siblings (409), compared without case after Unicode normalisation.",
    params=WorkspacePath,
    body=PageIn,
    response=PageCreatedOut,
    status=201,
    errors=(403, 409),
    also=((200, "It existed already: `exist_ok` answered the one that has the name"),),
)
async def create_page(
    request: web.Request, principal: Principal, params: WorkspacePath, body: PageIn
) -> PageCreatedOut | WithStatus:
    page, created = await request.app[SERVICES].pages.create(
        principal,
        params.workspace_id,
        body.title,
        parent_id=body.parent_id,
        icon=body.icon,
        markdown=body.markdown,
        exist_ok=body.exist_ok,
        number_if_taken=body.number_if_taken,
    )
    out = PageCreatedOut(**PageOut.of(page).model_dump(), created=created)
    return out if created else WithStatus(out, 200)


@routes.get(
    "/api/v1/workspaces/{workspace_id}/pages",
    summary="The live page tree.",
    params=WorkspacePath,
    response=PageListOut,
)
async def tree(request: web.Request, principal: Principal, params: WorkspacePath) -> PageListOut:
    pages = await request.app[SERVICES].pages.tree(principal, params.workspace_id)
    return PageListOut(pages=[PageOut.of(p) for p in pages])


@routes.get(
    "/api/v1/workspaces/{workspace_id}/trash",
    summary="Archived pages (each the root of what was archived with it).",
    params=WorkspacePath,
    response=PageListOut,
)
async def trash(request: web.Request, principal: Principal, params: WorkspacePath) -> PageListOut:
    pages = await request.app[SERVICES].pages.trash(principal, params.workspace_id)
    return PageListOut(pages=[PageOut.of(p) for p in pages])


@routes.get(
    "/api/v1/search/pages",
    summary="Search titles and text of the pages you may read.",
    query=PageSearchQuery,
    response=PageSearchOut,
    errors=(404,),  # a workspace you are not in
)
async def search(
    request: web.Request, principal: Principal, query: PageSearchQuery
) -> PageSearchOut:
    hits = await request.app[SERVICES].pages.search(
        principal, query.q, query.workspace, query.limit
    )
    return PageSearchOut(results=[PageHitOut(page=PageOut.of(p), snippet=s) for p, s in hits])


@routes.get(
    "/api/v1/pages/{page_id}", summary="A page's metadata.", params=PagePath, response=PageOut
)
async def get_page(request: web.Request, principal: Principal, params: PagePath) -> PageOut:
    return PageOut.of((await request.app[SERVICES].pages.view(principal, params.page_id)).page)


@routes.post(
    "/api/v1/pages/{page_id}/title",
    summary="Rename a page. A sibling's title is refused (409).",
    params=PagePath,
    body=TitleIn,
    response=PageOut,
    errors=(403, 409),
)
async def rename(
    request: web.Request, principal: Principal, params: PagePath, body: TitleIn
) -> PageOut:
    return PageOut.of(
        await request.app[SERVICES].pages.rename(principal, params.page_id, body.title)
    )


@routes.post(
    "/api/v1/pages/{page_id}/icon",
    summary="Set or clear a page's emoji icon.",
    params=PagePath,
    body=IconIn,
    response=PageOut,
    errors=(403,),
)
async def set_icon(
    request: web.Request, principal: Principal, params: PagePath, body: IconIn
) -> PageOut:
    return PageOut.of(
        await request.app[SERVICES].pages.set_icon(principal, params.page_id, body.icon)
    )


@routes.post(
    "/api/v1/pages/{page_id}/move",
    summary="Re-parent a page (never under itself or its own sub-pages; 409 if a page there has"
    " its title).",
    params=PagePath,
    body=MoveIn,
    response=PageOut,
    errors=(403, 409),
)
async def move(
    request: web.Request, principal: Principal, params: PagePath, body: MoveIn
) -> PageOut:
    page = await request.app[SERVICES].pages.move(
        principal, params.page_id, body.parent_id, body.after
    )
    return PageOut.of(page)


@routes.post(
    "/api/v1/pages/{page_id}/archive",
    summary="Move a page with all its sub-pages to the trash.",
    params=PagePath,
    response=PageIdsOut,
    errors=(403,),
)
async def archive(request: web.Request, principal: Principal, params: PagePath) -> PageIdsOut:
    return PageIdsOut(pages=await request.app[SERVICES].pages.archive(principal, params.page_id))


@routes.post(
    "/api/v1/pages/{page_id}/restore",
    summary='Bring an archived page back (as "Title (2)" if a page where it returns has taken'
    " its title meanwhile).",
    params=PagePath,
    response=PageOut,
    errors=(403,),
)
async def restore(request: web.Request, principal: Principal, params: PagePath) -> PageOut:
    return PageOut.of(await request.app[SERVICES].pages.restore(principal, params.page_id))


@routes.delete(
    "/api/v1/pages/{page_id}",
    summary="Delete an archived page and its sub-pages for good.",
    params=PagePath,
    response=PageIdsOut,
    errors=(403,),
)
async def delete(request: web.Request, principal: Principal, params: PagePath) -> PageIdsOut:
    return PageIdsOut(pages=await request.app[SERVICES].pages.delete(principal, params.page_id))


@routes.put(
    "/api/v1/pages/{page_id}/cover",
    summary=(
        f"Upload a cover image (PNG, JPEG, GIF or WebP; at most {COVER_MAX_BYTES} bytes and"
        f" {COVER_MAX_PIXELS} pixels). It is decoded and re-encoded without its metadata:"
        " JPEG as JPEG, WebP as WebP, PNG and GIF (first frame) as PNG."
    ),
    params=PagePath,
    response=PageOut,
    raw_body="application/octet-stream",
    errors=(403,),
)
async def set_cover(request: web.Request, principal: Principal, params: PagePath) -> PageOut:
    data = await read_limited(request, COVER_MAX_BYTES)
    return PageOut.of(await request.app[SERVICES].pages.set_cover(principal, params.page_id, data))


@routes.get(
    "/api/v1/pages/{page_id}/cover",
    summary="The cover image (members only).",
    params=PagePath,
    raw_response="image/*",
)
async def get_cover(request: web.Request, principal: Principal, params: PagePath) -> web.Response:
    image, mime = await request.app[SERVICES].pages.cover(principal, params.page_id)
    return web.Response(body=image, headers={"Content-Type": mime})


@routes.delete(
    "/api/v1/pages/{page_id}/cover",
    summary="Remove the cover.",
    params=PagePath,
    response=PageOut,
    errors=(403,),
)
async def clear_cover(request: web.Request, principal: Principal, params: PagePath) -> PageOut:
    return PageOut.of(await request.app[SERVICES].pages.clear_cover(principal, params.page_id))


@routes.get(
    "/api/v1/pages/{page_id}/content",
    summary="Blocks and Markdown of a page.",
    params=PagePath,
    response=ContentOut,
)
async def content(request: web.Request, principal: Principal, params: PagePath) -> ContentOut:
    page, blocks, markdown = await request.app[SERVICES].pages.content(principal, params.page_id)
    return ContentOut(
        page=PageOut.of(page),
        blocks=[
            BlockOut(id=b.id, type=b.type, text=b.text, checked=b.checked, lang=b.lang)
            for b in blocks
        ],
        markdown=markdown,
    )


@routes.get(
    "/api/v1/pages/{page_id}/state",
    summary="The whole content as one Yjs update (to start a replica from).",
    params=PagePath,
    raw_response="application/octet-stream",
)
async def state(request: web.Request, principal: Principal, params: PagePath) -> web.Response:
    data = await request.app[SERVICES].pages.state(principal, params.page_id)
    return web.Response(body=data, content_type="application/octet-stream")


@routes.post(
    "/api/v1/pages/{page_id}/updates",
    summary="Merge a Yjs update made on a replica; answered once it is durable.",
    params=PagePath,
    response=UpdateOut,
    raw_body="application/octet-stream",
    errors=(400, 403, 409),  # 400: not a Yjs update; 409: it builds on updates not received
)
async def apply_update(request: web.Request, principal: Principal, params: PagePath) -> UpdateOut:
    data = await read_limited(request, request.app[CONFIG].max_doc_update_bytes)
    seq = await request.app[SERVICES].pages.apply_update(principal, params.page_id, data)
    return UpdateOut(seq=seq)


@routes.post(
    "/api/v1/pages/{page_id}/blocks",
    summary="Append a block.",
    params=PagePath,
    body=BlockIn,
    response=BlockAddedOut,
    status=201,
    errors=(403,),
)
async def append_block(
    request: web.Request, principal: Principal, params: PagePath, body: BlockIn
) -> BlockAddedOut:
    block_id = await request.app[SERVICES].pages.append(
        principal, params.page_id, body.type, body.text, body.checked
    )
    return BlockAddedOut(id=block_id)


@routes.post(
    "/api/v1/pages/{page_id}/import",
    summary="Append Markdown as blocks.",
    params=PagePath,
    body=MarkdownIn,
    errors=(403,),
)
async def import_markdown(
    request: web.Request, principal: Principal, params: PagePath, body: MarkdownIn
) -> None:
    await request.app[SERVICES].pages.import_markdown(principal, params.page_id, body.markdown)
