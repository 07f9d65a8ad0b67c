"""The built-in status page: what the home port shows when no UI bundle is installed.

Rendered here, in one HTML document with its style and a few lines of script inline
(no build step, nothing fetched from elsewhere: the Content-Security-Policy says so to
the browser). The script asks for `/status.html` (the same `<main>`, rendered by the
same code) every few seconds and swaps it in; without script the page refreshes itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

REFRESH_SECONDS = 5
RELEASES_URL = "https://github.com/RunOnFlux/fluxos-frontend/releases"

_STYLE = """
:root{color-scheme:light dark;--bg:#f5f7fb;--card:#fff;--ink:#1b2330;--dim:#5b6675;
--ok:#16803c;--warn:#a15c00;--bad:#b3261e;--line:#dde3ec;--accent:#2b61d1}
@media (prefers-color-scheme:dark){:root{--bg:#10151d;--card:#18202b;--ink:#e6ebf2;
--dim:#9aa6b6;--line:#2a3544;--ok:#4cc47a;--warn:#e0a030;--bad:#f07167;--accent:#7aa2ff}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:var(--bg);color:var(--ink)}
header{padding:1rem 1.25rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;
border-bottom:1px solid var(--line);background:var(--card)}
header h1{font-size:1.25rem;margin:0}
header .dim{font-size:.9rem}
main{padding:1rem;max-width:72rem;margin:0 auto}
.grid{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr))}
section{background:var(--card);border:1px solid var(--line);border-radius:.6rem;
padding:.75rem 1rem;margin-bottom:.75rem;min-width:0}
h2{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:var(--dim);
margin:0 0 .4rem}
.big{font-size:1.6rem;font-weight:600}
.dim{color:var(--dim)}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;
overflow-wrap:anywhere}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem}
dt{color:var(--dim)}dd{margin:0;min-width:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-top:1px solid var(--line);
vertical-align:top}
th{color:var(--dim);font-weight:500;border-top:0}
ul.log{list-style:none;margin:0;padding:0}
ul.log li{padding:.3rem 0;border-top:1px solid var(--line)}
a{color:var(--accent)}
code{font-family:ui-monospace,monospace;font-size:.85rem;overflow-wrap:anywhere}
"""

_SCRIPT = (
    "(function(){var main=document.getElementById('status');"
    "var stamp=document.getElementById('updated');"
    "function refresh(){fetch('/status.html',{cache:'no-store'})"
    ".then(function(r){if(!r.ok){throw new Error(r.status)}return r.text()})"
    ".then(function(t){main.innerHTML=t;stamp.className='dim'})"
    ".catch(function(){stamp.className='bad';stamp.textContent='node not answering'})}"
    f"setInterval(refresh,{REFRESH_SECONDS * 1000})}})();"
)


def _csp_hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; connect-src 'self'; img-src 'self' data:; "
    f"style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def render_page(snapshot: dict[str, Any], api_url: str) -> str:
    """The whole page; it starts with `<!doctype html>` (load balancers look for it)."""
    version = _e(snapshot.get("version", ""))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>FluxOS node {version}</title>"
        '<link rel="icon" href="data:,">'  # no /favicon.ico request (a 404 here)
        f"<style>{_STYLE}</style>"
        f'<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>'
        "</head><body>"
        f'<header><h1>FluxOS node</h1><span class="dim">fluxos {version}</span>'
        f'<span id="updated" class="dim">updates every {REFRESH_SECONDS} s</span></header>'
        f'<main id="status">{render_main(snapshot, api_url)}</main>'
        f"<script>{_SCRIPT}</script>"
        "</body></html>\n"
    )


def render_main(snapshot: dict[str, Any], api_url: str) -> str:
    """The page's live part (what the page's script swaps in)."""
    return (
        '<div class="grid">'
        + _chain(snapshot.get("chain", {}))
        + _peers(snapshot.get("peers", {}))
        + _apps(snapshot.get("apps", {}))
        + _bench(snapshot.get("benchmark"))
        + "</div>"
        + _identity(snapshot)
        + _loops(snapshot.get("loops", []))
        + _problems(snapshot.get("log", []))
        + _links(api_url)
        + f'<p class="dim" data-field="time">as of {_e(snapshot.get("time", ""))}</p>'
    )


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _failed(value: Any) -> str | None:
    if isinstance(value, dict) and "error" in value:
        return str(value["error"])
    return None


def _value(value: Any, field: str) -> str:
    error = _failed(value)
    if error is not None:
        return f'<span class="bad" data-field="{field}">unavailable: {_e(error)}</span>'
    if value is None:
        return f'<span class="dim" data-field="{field}">–</span>'
    return f'<span data-field="{field}">{_e(value)}</span>'


def _chain(chain: dict[str, Any]) -> str:
    height = chain.get("height", 0)
    if chain.get("reachable") is False:
        why = _e(chain.get("error", ""))
        state = f'<span class="bad" data-field="sync" title="{why}">fluxd not reachable</span>'
    elif chain.get("synced"):
        state = '<span class="ok" data-field="sync">synced</span>'
    else:
        state = '<span class="warn" data-field="sync">syncing</span>'
    return (
        "<section><h2>Chain</h2>"
        f'<div class="big" data-field="height">{_e(height)}</div>'
        f'<div>{state} <span class="dim">of {_e(chain.get("header", 0))} headers</span></div>'
        "</section>"
    )


def _peers(peers: dict[str, Any]) -> str:
    return (
        "<section><h2>Peers</h2>"
        f'<div class="big"><span data-field="peers-out">{_e(peers.get("outgoing", 0))}</span>'
        ' <span class="dim">out</span> · '
        f'<span data-field="peers-in">{_e(peers.get("incoming", 0))}</span>'
        ' <span class="dim">in</span></div></section>'
    )


def _apps(apps: dict[str, Any]) -> str:
    running = apps.get("running")
    running_text = (
        '<span class="dim" data-field="apps-running">off on this node</span>'
        if running is None
        else f'{_value(running, "apps-running")} <span class="dim">running</span>'
    )
    return (
        "<section><h2>Apps</h2>"
        f'<div class="big">{running_text}</div>'
        f"<div>{_value(apps.get('installed'), 'apps-installed')} "
        '<span class="dim">installed here ·</span> '
        f"{_value(apps.get('global'), 'apps-global')} "
        '<span class="dim">on the network</span></div></section>'
    )


def _bench(bench: Any) -> str:
    return f'<section><h2>Benchmark</h2><div class="big">{_value(bench, "bench")}</div></section>'


def _identity(snapshot: dict[str, Any]) -> str:
    identity = snapshot.get("identity", {})
    uptime = int(snapshot.get("uptime", 0) or 0)
    return (
        "<section><h2>Node</h2><dl>"
        f"<dt>version</dt><dd>fluxos {_e(snapshot.get('version', ''))} "
        f'<span class="dim">(FluxOS API {_e(snapshot.get("fluxosCompat", ""))})</span></dd>'
        f'<dt>address</dt><dd class="mono">{_value(identity.get("address"), "address")}</dd>'
        f'<dt>owner ZelID</dt><dd class="mono">'
        f"{_value(identity.get('zelid') or None, 'zelid')}</dd>"
        f'<dt>fluxnode key</dt><dd class="mono">'
        f"{_value(identity.get('pubkey') or None, 'pubkey')}</dd>"
        f"<dt>tier</dt><dd>{_value(identity.get('tier'), 'tier')}</dd>"
        f'<dt>uptime</dt><dd data-field="uptime">{_e(_duration(uptime))}</dd>'
        "</dl></section>"
    )


def _duration(seconds: int) -> str:
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


_STATE_CLASS = {"running": "ok", "waiting": "dim", "starting": "dim", "finished": "dim"}


def _loops(loops: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr data-loop="{_e(loop["name"])}"><td>{_e(loop["name"])}</td>'
        f'<td class="{_STATE_CLASS.get(str(loop["state"]), "warn")}">{_e(loop["state"])}</td>'
        f"<td>{_e(loop.get('restarts', 0))}</td>"
        f'<td class="mono">{_e(loop.get("lastError") or loop.get("detail") or "")}</td></tr>'
        for loop in loops
    )
    return (
        '<section><h2>Background loops</h2><div class="scroll"><table>'
        "<thead><tr><th>loop</th><th>state</th><th>restarts</th><th>last error / detail</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


def _problems(lines: list[dict[str, str]]) -> str:
    if not lines:
        body = '<p class="dim" data-field="log">No warnings or errors logged.</p>'
    else:
        items = "".join(
            f'<li class="mono"><span class="{"bad" if item["level"] == "error" else "warn"}">'
            f"{_e(item['level'])}</span> {_e(item['line'])}</li>"
            for item in reversed(lines)  # newest first
        )
        body = f'<ul class="log" data-field="log">{items}</ul>'
    return f"<section><h2>Recent warnings and errors</h2>{body}</section>"


def _links(api_url: str) -> str:
    docs = f"{api_url}/docs"
    return (
        '<section id="install"><h2>More</h2>'
        f'<p>API reference: <a href="{_e(docs)}">{_e(docs)}</a></p>'
        "<p>This is the node's built-in page. To serve the full Flux web UI here, download "
        f'its <code>dist.tar.gz</code> from <a href="{_e(RELEASES_URL)}">the releases page</a> '
        "and run <code>fluxos ui install dist.tar.gz --sha256 DIGEST</code> on this machine, "
        "or have the owner call <code>/flux/rebuildui</code>, which installs the latest "
        "release from <code>[ui] release_url</code>.</p></section>"
    )
