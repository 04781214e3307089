"""Shared test set-up: the scan cache lives in the test session's own folder."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_scan_cache(tmp_path_factory):
    # Commands run in the tests must not write into the user's cache folder.
    patch = pytest.MonkeyPatch()
    patch.setenv("JWST_PROVENANCE_CACHE", str(tmp_path_factory.mktemp("cache") / "headers.sqlite"))
    yield
    patch.undo()
