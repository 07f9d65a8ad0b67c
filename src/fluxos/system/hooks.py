"""Running an operator-configured command (`[hooks]` in fluxos.toml): an argv list, no
shell, no input, with a timeout; its output is kept for the error message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from fluxos.errors import FluxError

log = logging.getLogger(__name__)

OUTPUT_LIMIT = 2000


async def run_hook(name: str, argv: Sequence[str], *, limit: float, failure: str) -> str:
    """Run `argv` and return its output; `FluxError("<failure>: <why>")` when it cannot be
    started, exits non-zero or outlives `limit` seconds (it is killed then)."""
    log.info("running the %s hook: %s", name, " ".join(argv))
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as error:
        raise FluxError(f"{failure}: {error}") from error
    try:
        output, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise FluxError(f"{failure}: {argv[0]} did not finish within {limit:g} s") from None
    text = output.decode(errors="replace").strip()[-OUTPUT_LIMIT:]
    if process.returncode != 0:
        log.warning("the %s hook failed with code %s: %s", name, process.returncode, text)
        raise FluxError(f"{failure}: {text or f'exit code {process.returncode}'}")
    log.info("the %s hook finished", name)
    return text


async def launch_detached(name: str, argv: Sequence[str]) -> None:
    """Start `argv` in its own session and do not wait: for a hook that ends this process
    (`systemctl restart fluxos`)."""
    log.info("launching the %s hook: %s", name, " ".join(argv))
    await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
