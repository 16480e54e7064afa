"""Fixtures the unit tests share."""
import pytest

from utils import setup


@pytest.fixture
def offline(monkeypatch):
    """Offline mode on: loaders may use their labelled stand-ins and never download."""
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")


@pytest.fixture
def online(monkeypatch):
    """Offline mode off: a loader with nothing local must download, or fail with the fix."""
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
