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
