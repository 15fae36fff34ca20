"""A bar range longer than the venue engine reads at once (a week of minute bars is 10,080) is paged as
Alpaca pages it, ``limit`` bars and a ``next_page_token``, never answered with a 500; nor is a time parameter
that is not a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from broker_integration.sim.alpaca import AlpacaSimulator


async def test_a_week_of_minute_bars_is_paged(sim: AlpacaSimulator) -> None:
    start = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"APCA-API-KEY-ID": sim.key_id, "APCA-API-SECRET-KEY": sim.secret_key}
    url = f"{sim.base_url}/v1beta3/crypto/us/bars"
    query = {"symbols": "BTC/USD", "timeframe": "1Min", "start": start, "limit": "10000"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(url, params=query) as first:
            assert first.status == 200, await first.text()
            page = await first.json()
        async with session.get(url, params={**query, "page_token": page["next_page_token"]}) as second:
            assert second.status == 200, await second.text()
            rest = await second.json()
    bars = page["bars"]["BTC/USD"]
    assert len(bars) == 10_000
    assert [b["t"] for b in bars] == sorted(b["t"] for b in bars)
    following = rest["bars"]["BTC/USD"]
    assert 0 < len(following) <= 80  # the rest of the week's 10,080
    assert following[0]["t"] > bars[-1]["t"]
    assert rest["next_page_token"] is None


async def test_a_time_that_is_not_one_is_refused_in_each_apis_own_words(sim: AlpacaSimulator) -> None:
    headers = {"APCA-API-KEY-ID": sim.key_id, "APCA-API-SECRET-KEY": sim.secret_key}
    bars = {"symbols": "BTC/USD", "timeframe": "1Min", "start": "yesterday"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{sim.base_url}/v1beta3/crypto/us/bars", params=bars) as data_api:
            assert data_api.status == 400
            assert await data_api.json() == {"message": "invalid start"}
        async with session.get(f"{sim.base_url}/v2/orders", params={"until": "2024-13-01"}) as trading_api:
            assert trading_api.status == 422
            assert await trading_api.json() == {"code": 40010001, "message": "invalid until"}
        async with session.get(
            f"{sim.base_url}/v2/orders", params={"after": "", "until": "2024-01-02"}
        ) as fine:
            assert fine.status == 200, "an empty time is no bound, a date is midnight UTC"
