"""The reception service starts on real PostgreSQL and Kafka and answers the shared endpoints."""

from club_platform.testing import client


async def test_live_and_ready_over_http(reception_url):
    async with client(reception_url) as http:
        live = await http.get("/health/live")
        ready = await http.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "up", "kafka": "up"}


async def test_metrics_are_exposed(reception_url):
    async with client(reception_url) as http:
        await http.get("/health/live")
        metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    assert "club_http_requests_total" in metrics.text


async def test_openapi_document_is_served(reception_url):
    async with client(reception_url) as http:
        spec = await http.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "Club reception service"
