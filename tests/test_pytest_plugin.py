"""The pytest plugin, exercised with pytester: fixtures, markers, isolation, xdist."""

from __future__ import annotations

import pytest

BASICS = """
import httpx
import pytest

CREATE = {"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west"}


def test_a_fresh_account_drives_a_lifecycle(mockvps):
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
        assert api.get("servers/").json() == {"count": 0, "results": []}
        created = api.post("servers/", json=CREATE).json()
        assert created["status"] == "provisioning"
        mockvps.control.advance(600)
        assert api.get(f"servers/{created['id']}/").json()["status"] == "active"
    assert mockvps.control.journal_count(method="POST", status=201) == 1


def test_every_test_gets_its_own_account(mockvps):
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
        assert api.get("servers/").json()["count"] == 0
        assert api.post("servers/", json=CREATE).json()["id"] == 12347


@pytest.mark.mockvps(mode="immediate", balance="5.00",
                     servers=[{"name": "db", "plan_id": 2, "os_id": 3, "location": "us-east", "status": "stopped"}])
def test_marker_options_shape_the_account(mockvps):
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
        (db,) = api.get("servers/").json()["results"]
        assert db["status"] == "stopped"
        assert api.post(f"servers/{db['id']}/start/").json()["server"]["status"] == "starting"
        assert api.get(f"servers/{db['id']}/").json()["status"] == "active"
        assert api.post("servers/", json=CREATE).status_code == 402


def test_accounts_of_finished_tests_are_gone(mockvps, mockvps_server):
    names = {a["name"] for a in mockvps_server.control.accounts()}
    assert names == {"default", mockvps.account}


def test_faults_hit_only_this_account(mockvps, mockvps_server):
    mockvps.control.add_fault(method="GET", status=503)
    assert httpx.get(mockvps.api_url + "servers/", headers=mockvps.headers).status_code == 503
    other = mockvps_server.control.create_account()
    try:
        assert httpx.get(mockvps.api_url + "servers/",
                         headers={"Authorization": f"Bearer {other.token}"}).status_code == 200
    finally:
        mockvps_server.control.scoped(other.name).delete_account()
"""


def test_the_fixtures_give_each_test_a_fresh_isolated_account(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_basics=BASICS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.mockvps(**options)*"])


def test_a_failing_client_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_expects_a_server_that_is_not_there(mockvps):
            assert httpx.get(mockvps.api_url + "servers/12345/", headers=mockvps.headers).status_code == 200
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)


def test_parallel_workers_share_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parallel="""
        import os
        import httpx
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_each_worker_has_its_own_mock(mockvps, mockvps_server, n):
            body = {"name": f"w{n}", "plan_id": 1, "os_id": 5, "location": "us-west"}
            created = httpx.post(mockvps.api_url + "servers/", json=body, headers=mockvps.headers).json()
            assert created["id"] == 12347
            assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
            assert mockvps_server.base_url.startswith("http://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
