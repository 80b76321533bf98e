"""GPUs per node of each GPU size the cluster accepts, as Microsoft's size pages state them: the PyTorch projects'
`process_count_per_instance` comes from this count (stack output gpuClusterGpusPerNode). A size outside the table is
refused by the config: tests/infra/test_config_validation.py."""

from __future__ import annotations

from infra.gpu_sizes import GPUS_PER_NODE, gpus_per_node

# What each series page lists (size -> GPUs), one page per series.
DOCUMENTED = {
    # https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    # https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/nca100v4-series
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    # https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncadsh100v5-series
    "Standard_NC40ads_H100_v5": 1,
    "Standard_NC80adis_H100_v5": 2,
    # https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ndasra100v4-series
    "Standard_ND96asr_v4": 8,
    # https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ndh100v5-series
    "Standard_ND96isr_H100_v5": 8,
}


def test_the_table_is_the_documented_gpu_count_of_every_size() -> None:
    """Each series page of Microsoft's GPU-accelerated sizes gives the GPUs per VM; Azure ML starts one process per
    GPU only if process_count_per_instance equals it.

    https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series
    https://learn.microsoft.com/en-us/azure/machine-learning/how-to-train-distributed-gpu
    """
    assert GPUS_PER_NODE == DOCUMENTED
    assert {size: gpus_per_node(size) for size in DOCUMENTED} == DOCUMENTED
