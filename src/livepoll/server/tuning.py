"""Process-wide settings for a server that holds thousands of phone connections.

Called once by ``livepoll serve`` after the server has started, never by code that
merely embeds a server (the tests), because these settings belong to the process.

* Open files: each phone is a socket. A laptop's default soft limit (1,024 on
  Linux, 256 on macOS) would refuse the 1,000th phone; the soft limit is raised to
  the hard limit, which an unprivileged process may do.
* Garbage collection: with thousands of connections the server holds hundreds of
  thousands of long-lived objects, and with CPython's default thresholds (700, 10,
  10) the cyclic collector took over 3 s of CPU in a 5,000-phone benchmark run,
  each full collection stalling the event loop for about 0.2 s (BENCHMARKS.md).
  Objects alive after start-up are frozen out of collection and the first
  generation is collected every 20,000 allocations instead of 700.
* Memory allocator (glibc): asyncio reads every socket into a fresh 256 KiB buffer
  and shrinks it to the few dozen bytes a vote takes. Above glibc's mmap threshold
  (128 KiB until a large block is freed) that buffer is an ``mmap``, an ``mremap``
  and a ``munmap`` per message, plus page faults: 15-20% of the server's CPU time
  per vote. Pinning the threshold at 1 MiB (and the heap trim threshold above it)
  serves those buffers from the heap, as glibc's own adjustment would after one
  large free. Other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import resource
import sys

logger = logging.getLogger("livepoll.server")

GC_THRESHOLDS = (20_000, 20, 10)
"""Allocations before a young collection, then young collections per middle one, and
middle ones per full one (CPython's defaults: 700, 10, 10)."""

MMAP_THRESHOLD = 1 << 20
"""Bytes from which glibc maps a block of its own rather than using the heap."""
TRIM_THRESHOLD = 4 << 20
"""Free bytes at the top of the heap before glibc gives memory back to the system."""

FEW_OPEN_FILES = 4_096
"""Below this many open files, tell the chair how many phones can join at most."""


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def keep_read_buffers_on_the_heap() -> bool:
    """glibc only: serve asyncio's 256 KiB read buffers from the heap; True if applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(
        mallopt(m_trim_threshold, TRIM_THRESHOLD)
    )


def tune_process() -> None:
    """Apply these settings to this process (see the module docstring)."""
    limit = raise_open_file_limit()
    if limit < FEW_OPEN_FILES:
        logger.warning(
            "this system allows %d open files: at most about %d phones can connect "
            "(raise the limit with 'ulimit -n' before starting livepoll)",
            limit,
            max(0, limit - 64),
        )
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    keep_read_buffers_on_the_heap()
