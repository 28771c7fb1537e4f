"""The connection cap follows the process's file limit: what was asked, less what the rest of the
server keeps open, never more than the descriptors it has."""

from __future__ import annotations

import resource

from rapport.kernel.connections import FILES_KEPT_FOR_THE_REST, connection_cap, raise_file_limit


def test_the_cap_is_what_was_asked_within_the_file_limit():
    assert connection_cap(1000, 1 << 20) == 1000
    assert connection_cap(1000, 256) == 256 - FILES_KEPT_FOR_THE_REST
    assert connection_cap(1000, 64) == 1, "a tiny limit still serves one connection"


def test_the_soft_file_limit_is_lifted_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        assert raise_file_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if hard != resource.RLIM_INFINITY:
            assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
