"""Microsoft Azure: storage account keys and connection strings, Service Bus, SAS, AD secrets."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, rule

_KEY88 = r"([A-Za-z0-9+/]{86}==)"

DETECTORS = (
    rule("azure-storage-connection-string", "Azure storage account connection string",
         r"(?i)DefaultEndpointsProtocol=https?;AccountName=[a-z0-9]{3,24};AccountKey=" + _KEY88,
         keywords=("DefaultEndpointsProtocol=",), min_entropy=4.0),
    rule("azure-cosmosdb-connection-string", "Azure Cosmos DB connection string",
         r"(?i)AccountEndpoint=https://[a-z0-9.-]+\.documents\.azure\.com[^;]*;AccountKey="
         + _KEY88, keywords=("AccountEndpoint=",), min_entropy=4.0),
    rule("azure-storage-account-key", "Azure storage account key assigned to a key name",
         r"(?i)(?:account|storage|azure)[_.-]?(?:access[_.-]?)?key[\"']?\s*(?:=|:|=>)\s*[\"']?"
         + _KEY88, keywords=("accountkey", "account_key", "storage_key", "storagekey",
                             "azure_key", "storage-key", "account-key"), min_entropy=4.0),
    rule("azure-service-bus-connection-string",
         "Azure Service Bus / Event Hubs connection string (shared access key)",
         r"Endpoint=sb://[A-Za-z0-9.-]+/?;SharedAccessKeyName=[^;]+;SharedAccessKey="
         r"([A-Za-z0-9+/]{43}=)", keywords=("SharedAccessKey=",), min_entropy=4.0),
    rule("azure-ad-client-secret", "Microsoft Entra ID (Azure AD) client secret",
         r"(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})" + END,
         anchors=("[0-9]Q~[A-Za-z0-9_~.-]{31}",), min_entropy=3.5),
    rule("azure-sas-token", "Azure shared access signature (sig= in a SAS URL or token)",
         r"[?&]sv=\d{4}-\d{2}-\d{2}[^\s\"']*?[&?]sig=([A-Za-z0-9%+/]{40,60}(?:%3D|=))",
         keywords=("sig=",), min_entropy=3.5),
)
