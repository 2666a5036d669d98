"""Many nodes on one machine (Ray's own test cluster): blocks spread over nodes, one answer."""

import pytest

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

from technic_core.scan import results_match, scan  # noqa: E402

from ..helpers import make_store  # noqa: E402
from .helpers import BACKEND, RAY_PHASES, reference  # noqa: E402

NODES = 3  # the head and two workers, one CPU each

# Ray's multi-node test cluster: `pytest -m "not slow"` leaves it out of a quick run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), 120, 300, seed=8)


@pytest.fixture(scope="module")
def ref(store):
    return reference(store)


@pytest.fixture(scope="module")
def cluster():
    assert not ray.is_initialized()
    c = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        for _ in range(NODES - 1):
            c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


def test_joining_a_cluster_leaves_it_running(cluster, store, ref):
    res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=6, ray_address=cluster.address)
    assert res.info["engine"] == "ray"
    assert res.info["ray_cluster"] == f"{cluster.address} (joined)"
    assert res.info["ray_cpus"] == NODES
    assert results_match(ref, res) == []
    assert not ray.is_initialized(), "the scan disconnects from the cluster it joined"
    assert cluster.remaining_processes_alive(), "a joined cluster must keep running after the scan"
    assert len(cluster.list_all_nodes()) == NODES


@pytest.fixture(scope="module")
def connected(cluster):
    ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING")
    yield cluster
    ray.shutdown()


@pytest.mark.parametrize("block_size", [2, 5, 16, "auto"])
def test_blocks_spread_over_nodes_and_the_answer_stands(connected, store, ref, block_size):
    res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=block_size)
    assert results_match(ref, res) == []
    where = res.info["_blocks_where"]
    nodes = {w["node"] for w in where}
    assert len(where) == res.info["blocks"]
    assert nodes <= {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert res.info["ray_nodes"] == len(nodes)
    if res.info["blocks"] >= 4 * NODES:
        # Ray's SPREAD is best effort: on a loaded 2-core machine a node whose worker is slow
        # to start can get no block (seen once in 22 blocks, 2 of 3 nodes), so what is asserted
        # is that the blocks were spread over more than one node, not that every node got one
        assert len(nodes) >= 2, f"{res.info['blocks']} blocks ran on {len(nodes)} of {NODES} nodes"
    if block_size == "auto":  # one equal block per CPU: nothing waits on a short last block
        assert res.info["blocks"] == NODES
