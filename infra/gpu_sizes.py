"""GPUs per node of the VM sizes the GPU cluster accepts: what a distributed job's process count derives from.

Azure ML starts `process_count_per_instance` processes on each node of a `distribution: type: pytorch` job,
one per GPU; the stack exports this count (output gpuClusterGpusPerNode) so the generated PyTorch projects'
CD sets it from the cluster it runs on instead of guessing. Counts from Microsoft's size pages:
- NCasT4_v3: https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series
- NC A100 v4: https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/nca100v4-series
- NCads H100 v5: https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncadsh100v5-series
- ND A100 v4: https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ndasra100v4-series
- ND H100 v5: https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ndh100v5-series
The NCv3 sizes (V100) are not listed: Azure retired them on 30 September 2025.
"""

from __future__ import annotations

from typing import Final

GPUS_PER_NODE: Final[dict[str, int]] = {
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    "Standard_NC40ads_H100_v5": 1,
    "Standard_NC80adis_H100_v5": 2,
    "Standard_ND96asr_v4": 8,
    "Standard_ND96isr_H100_v5": 8,
}
"""GPU VM size -> NVIDIA GPUs per node."""


def gpus_per_node(vm_size: str) -> int:
    """The GPUs of one node of `vm_size`.

    >>> gpus_per_node("Standard_NC64as_T4_v3")
    4
    >>> gpus_per_node("Standard_DS3_v2")
    Traceback (most recent call last):
    ...
    ValueError: 'Standard_DS3_v2' is not a GPU size this platform knows the GPU count of: one of [...]
    """
    try:
        return GPUS_PER_NODE[vm_size]
    except KeyError:
        msg = f"{vm_size!r} is not a GPU size this platform knows the GPU count of: one of {list(GPUS_PER_NODE)}"
        raise ValueError(msg) from None
