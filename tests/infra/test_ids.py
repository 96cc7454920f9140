"""Point ids: stable UUIDv5 strings, whatever the item id looks like."""

from __future__ import annotations

import uuid

import pytest

from infra.store import point_id
from infra.store.base import _NAMESPACE


@pytest.mark.parametrize("index", [0, 7, 59_999, "sku-001", "chemise à fleurs", "a/b c"])
def test_point_id_is_the_standard_uuid5(index: int | str) -> None:
    expected = str(uuid.uuid5(_NAMESPACE, f"fashion-mnist/train/{index}"))
    assert point_id("fashion-mnist", "train", index) == expected
    assert uuid.UUID(point_id("fashion-mnist", "train", index)).version == 5
