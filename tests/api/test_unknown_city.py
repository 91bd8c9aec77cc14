"""Every place that asks for a city code refuses one it does not know with one text
(``vocab.unknown_city``): 雄安新区 (133100) with why it is not a city of the inventory and what to
write, anything else with the codes to choose from. Before, the import said the first and the
parcel filters, dashboards, QA, layers and zones a bare 未知城市代码."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from landmatch import vocab
from tests.conftest import auth

ASKED = [
    "/api/parcels?city={c}",
    "/api/monitoring/summary?city={c}",
    "/api/qa?city={c}",
]


def test_the_refusal_names_xiongan_and_the_choices() -> None:
    assert vocab.unknown_city("133100").startswith("雄安新区（133100）在本系统中不是单独的城市")
    assert "填写 130600" in vocab.unknown_city(" 雄安新区 ")
    other = vocab.unknown_city("139900")
    assert other.startswith("未知城市代码 139900；可选：130100 石家庄市、")
    assert other.endswith("130682 定州市")


@pytest.mark.parametrize("url", ASKED)
def test_every_city_parameter_says_it_alike(
    client: TestClient, tokens: dict[str, str], url: str
) -> None:
    for code, said in (
        ("133100", "雄安新区（133100）在本系统中不是单独的城市"),
        ("139900", "可选："),
    ):
        r = client.get(url.format(c=code), headers=auth(tokens["admin"]))
        assert r.status_code in (400, 422), (url, r.status_code, r.text[:200])
        assert said in r.text, (url, r.text[:300])
