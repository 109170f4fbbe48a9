"""Runs one shard of the suite: PYCROFT_SHARD=INDEX/COUNT (src/testing/shards.ts)."""

import os

import pytest


def split(sizes, count):
    """Test file -> shard (1-based): largest first, each to the least-loaded shard (ties: lowest)."""
    loads = [0] * count
    owners = {}
    for name, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        shard = min(range(count), key=lambda k: (loads[k], k))
        loads[shard] += size
        owners[name] = shard + 1
    return owners


def _file(item):
    return item.nodeid.split("::", 1)[0]


def _shard():
    index, count = (int(part) for part in os.environ["PYCROFT_SHARD"].split("/"))
    return index, count


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    index, count = _shard()
    sizes = {}
    for item in items:
        sizes[_file(item)] = sizes.get(_file(item), 0) + 1
    owners = split(sizes, count)
    keep = [item for item in items if owners[_file(item)] == index]
    drop = [item for item in items if owners[_file(item)] != index]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config._pycroft_shard_files = sorted(name for name, owner in owners.items() if owner == index)


def pytest_report_collectionfinish(config, items):
    index, count = _shard()
    files = getattr(config, "_pycroft_shard_files", [])
    return f"shard {index}/{count}: {len(items)} tests in {len(files)} files"
