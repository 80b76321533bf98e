"""Azure regions this project supports, with their Cloud Adoption Framework short codes.

A region is listed only where Azure Machine Learning, ADLS Gen2, Premium container registries and the
other services the stack declares are available; names derived from the short code stay short enough
for the tightest Azure naming rule (storage accounts, 24 characters).
"""

REGION_ABBREVIATIONS: dict[str, str] = {
    "australiaeast": "ae",
    "canadacentral": "cnc",
    "centralus": "cus",
    "eastus": "eus",
    "eastus2": "eus2",
    "francecentral": "frc",
    "germanywestcentral": "gwc",
    "japaneast": "jpe",
    "northeurope": "ne",
    "southeastasia": "sea",
    "swedencentral": "sdc",
    "uksouth": "uks",
    "westeurope": "we",
    "westus2": "wus2",
    "westus3": "wus3",
}
"""Supported region name -> CAF short code (https://aka.ms/caf-naming, "Azure region abbreviations")."""

SUPPORTED_REGIONS: tuple[str, ...] = tuple(sorted(REGION_ABBREVIATIONS))

GITHUB_PRIVATE_NETWORKING_SOURCE = (
    "https://docs.github.com/en/organizations/managing-organization-settings/"
    "troubleshooting-azure-private-network-configurations-for-github-hosted-runners-in-your-organization"
)
GITHUB_PRIVATE_NETWORKING_READ = "2026-12-06"
"""When GITHUB_PRIVATE_NETWORKING_REGIONS was last compared with its source page (GitHub adds regions)."""
GITHUB_PRIVATE_NETWORKING_REGIONS: frozenset[str] = frozenset(
    {
        "australiaeast",
        "brazilsouth",
        "canadacentral",
        "canadaeast",
        "centralus",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "germanywestcentral",
        "japaneast",
        "koreacentral",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "southcentralus",
        "southeastasia",
        "southindia",
        "swedencentral",
        "switzerlandnorth",
        "uksouth",
        "westus",
        "westus2",
        "westus3",
    }
)
"""Azure regions where GitHub-hosted runners can join a VNet (GitHub.com, not GHE.com data residency), as read
from GITHUB_PRIVATE_NETWORKING_SOURCE on GITHUB_PRIVATE_NETWORKING_READ. The VNet, its subnet and the
networkSettings resource must all be in one of them: westeurope is not."""
