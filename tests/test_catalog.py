from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from mockvps.catalog import default_catalog, load_catalog
from mockvps.errors import ConfigurationError


def test_default_catalog_is_the_contract_s() -> None:
    catalog = default_catalog()
    standard, performance = catalog.plans[1], catalog.plans[2]
    assert (standard.name, standard.vcpus, standard.memory, standard.storage, standard.bandwidth) == (
        "Standard VPS", 2, 4096, 80, 2048,
    )  # fmt: skip
    assert (performance.name, performance.vcpus, performance.memory, performance.storage, performance.bandwidth) == (
        "Performance VPS", 4, 8192, 160, 4096,
    )  # fmt: skip
    assert {i: o.name for i, o in catalog.os_images.items()} == {3: "Debian 12", 5: "Ubuntu 22.04 LTS"}
    assert catalog.locations == ("us-west", "us-east")


def test_a_file_replaces_the_sections_it_names(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({
        "plans": [{"id": 1, "name": "Starter", "vcpus": 1, "memory": 1024, "storage": 25, "bandwidth": 1024,
                   "price": "5.50"}],
        "locations": ["eu-central"],
    }))  # fmt: skip
    catalog = load_catalog(path)
    assert list(catalog.plans) == [1]
    assert catalog.plans[1].name == "Starter"
    assert catalog.plans[1].price == Decimal("5.50")
    assert catalog.locations == ("eu-central",)
    assert catalog.os_images == default_catalog().os_images


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("not json", "catalog file"),
        ("[]", "expected a JSON object"),
        ('{"plans": []}', "plans: expected a non-empty list"),
        ('{"plans": [{"id": 1}]}', r"plans\[0\]\.name"),
        ('{"os_images": [{"id": 3, "name": "A"}, {"id": 3, "name": "B"}]}', "duplicate id 3"),
        ('{"locations": ["a", "a"]}', "duplicate location"),
        ('{"locations": [1]}', "location codes"),
        ('{"ssh_keys": [{"id": -1, "name": "k"}]}', "non-negative integer"),
        (
            '{"plans": [{"id": 1, "name": "P", "vcpus": 1, "memory": 1, "storage": 1, "bandwidth": 1, '
            '"price": "lots"}]}',
            "not a number",
        ),
    ],
)
def test_a_bad_catalog_file_is_refused_with_a_clear_message(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=complaint):
        load_catalog(path)
