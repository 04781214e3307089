"""Shared test set-up: the scan cache lives in the test session's own folder; hypothesis
profiles ("ci" by default, "long" with HYPOTHESIS_PROFILE=long for many more examples)."""

import os

import pytest
from hypothesis import settings

# Tests that set no example count get the profile's; the reader-agreement tests scale
# theirs from it. "ci" keeps the whole suite's examples to a few thousand.
settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("long", max_examples=2500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _private_scan_cache(tmp_path_factory):
    # Commands run in the tests must not write into the user's cache folder.
    patch = pytest.MonkeyPatch()
    patch.setenv("JWST_PROVENANCE_CACHE", str(tmp_path_factory.mktemp("cache") / "headers.sqlite"))
    yield
    patch.undo()
