"""A notice on the page when its server process is gone: "reload the page".

Behind a proxy with several `arena serve` processes (deploy/), a page's Gradio
session lives in one process. When that process dies, an event in flight gets a
502 from the proxy or a stream cut midway, and Gradio shows a bare "Error"; the
next events reach another process that does not know the page's state. This
script watches the page's requests to Gradio's queue and heartbeat and, on a
gateway error or a broken stream, shows a banner asking the voter to reload, in
the voter's language (texts from arena.ui.i18n). It is served from the app (not
inline) so a Content-Security-Policy of `script-src 'self'` allows it.
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from arena.ui.i18n import MESSAGES

PATH = "/ui/connection-notice.js"
HEAD = f'<script src="{PATH}" defer></script>'

SCRIPT = """(() => {
  const texts = %s;
  const lang = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  const watched = (url) => /\\/gradio_api\\/(queue\\/(join|data)|heartbeat)/.test(url);
  let shown = false;
  const notify = () => {
    if (shown) return;
    shown = true;
    const banner = document.createElement("div");
    banner.id = "arena-connection-lost";
    banner.setAttribute("role", "alert");
    banner.textContent = texts[lang];
    banner.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:12px;" +
      "text-align:center;font-weight:600;background:#fde68a;color:#1f2937;cursor:pointer";
    banner.addEventListener("click", () => location.reload());
    document.body.appendChild(banner);
  };
  // Gradio aborts its own streams when it is done with them: not a lost connection.
  const lost = (error) => { if (!error || error.name !== "AbortError") notify(); };
  const guarded = (response) => {
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        let chunk;
        try { chunk = await reader.read(); } catch (error) {
          lost(error);
          controller.error(error);
          return;
        }
        if (chunk.done) controller.close(); else controller.enqueue(chunk.value);
      },
      cancel(reason) { return reader.cancel(reason); },
    });
    return new Response(body, {status: response.status, statusText: response.statusText,
                               headers: response.headers});
  };
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (!watched(url)) return original(input, init);
    let response;
    try { response = await original(input, init); } catch (error) { lost(error); throw error; }
    if (response.status >= 502 && response.status <= 504) notify();
    const stream = /\\/(queue\\/data|heartbeat)/.test(url) && response.ok;
    return stream ? guarded(response) : response;
  };
})();
"""

router = APIRouter()


def script_text() -> str:
    texts = {language: messages["connection_lost"] for language, messages in MESSAGES.items()}
    return SCRIPT % json.dumps(texts, ensure_ascii=False)


@router.get(PATH, include_in_schema=False)
def connection_notice() -> Response:
    return Response(script_text(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})
