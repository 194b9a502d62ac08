"""metadata.yaml against Airbyte's connector metadata schema, and its agreement with the Dockerfile.

The schema below encodes `ConnectorMetadataDefinitionV0.yaml` of the Airbyte repository
(airbyte-ci/connectors/metadata_service/lib/metadata_service/models/src/): its required fields,
their types and enums, and the sub-schemas this connector uses (ConnectorBuildOptions,
AllowedHosts, ReleaseStage, SupportLevel, RegistryOverrides, RemoteRegistries).
"""
from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
METADATA = ROOT / "metadata.yaml"
DOCKERFILE = ROOT / "Dockerfile"

BASE_IMAGE_RE = re.compile(
    r"^docker\.io/airbyte/python-connector-base:4\.0\.\d+@sha256:[0-9a-f]{64}$"
)

# Every key ConnectorMetadataDefinitionV0 knows under `data` (the schema has additionalProperties
# false in its older versions; listing them catches typos such as `dockerImagetag`).
KNOWN_DATA_KEYS = [
    "name", "icon", "definitionId", "connectorBuildOptions", "connectorType", "dockerRepository",
    "dockerImageTag", "supportsDbt", "supportsNormalization", "license", "documentationUrl",
    "githubIssueLabel", "maxSecondsBetweenMessages", "releaseDate", "protocolVersion", "erdUrl",
    "connectorSubtype", "releaseStage", "supportLevel", "tags", "registryOverrides", "registries",
    "allowedHosts", "releases", "normalizationConfig", "suggestedStreams", "resourceRequirements",
    "ab_internal", "remoteRegistries", "supportsRefreshes", "supportsFileTransfer",
    "supportsDataActivation", "generated", "connectorTestSuitesOptions", "connectorIPCOptions",
    "externalDocumentationUrls", "language",
]

REGISTRY_OVERRIDE = {
    "type": "object",
    "required": ["enabled"],
    "properties": {
        "enabled": {"type": "boolean"},
        "name": {"type": "string"},
        "dockerRepository": {"type": "string"},
        "dockerImageTag": {"type": "string"},
        "supportsDbt": {"type": "boolean"},
        "supportsNormalization": {"type": "boolean"},
        "license": {"type": "string"},
        "documentationUrl": {"type": "string", "format": "uri"},
        "connectorSubtype": {"type": "string"},
        "allowedHosts": {"$ref": "#/definitions/AllowedHosts"},
        "normalizationConfig": {"type": "object"},
        "suggestedStreams": {"type": "object"},
        "resourceRequirements": {"type": "object"},
    },
    "additionalProperties": False,
}

METADATA_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "ConnectorMetadataDefinitionV0",
    "type": "object",
    "required": ["metadataSpecVersion", "data"],
    "additionalProperties": False,
    "definitions": {
        "AllowedHosts": {
            "type": "object",
            "additionalProperties": True,
            "properties": {"hosts": {"type": "array", "items": {"type": "string"}}},
        },
    },
    "properties": {
        "metadataSpecVersion": {"type": "string"},
        "data": {
            "type": "object",
            "required": [
                "name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag",
                "license", "documentationUrl", "githubIssueLabel", "connectorSubtype",
                "releaseStage",
            ],
            "propertyNames": {"enum": KNOWN_DATA_KEYS},
            "properties": {
                "name": {"type": "string"},
                "icon": {"type": "string"},
                "definitionId": {"type": "string", "format": "uuid"},
                "connectorBuildOptions": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"baseImage": {"type": "string"}},
                },
                "connectorType": {"type": "string", "enum": ["destination", "source"]},
                "dockerRepository": {"type": "string"},
                "dockerImageTag": {"type": "string"},
                "supportsDbt": {"type": "boolean"},
                "supportsNormalization": {"type": "boolean"},
                "license": {"type": "string"},
                "documentationUrl": {"type": "string", "format": "uri"},
                "githubIssueLabel": {"type": "string"},
                "maxSecondsBetweenMessages": {"type": "integer"},
                "releaseDate": {"type": "string", "format": "date"},
                "protocolVersion": {"type": "string"},
                "connectorSubtype": {
                    "type": "string",
                    "enum": [
                        "api", "database", "datalake", "file", "custom", "message_queue",
                        "unknown", "vectorstore",
                    ],
                },
                "releaseStage": {
                    "type": "string",
                    "enum": ["alpha", "beta", "generally_available", "custom"],
                },
                "supportLevel": {"type": "string", "enum": ["community", "certified", "archived"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "allowedHosts": {"$ref": "#/definitions/AllowedHosts"},
                "registryOverrides": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"oss": REGISTRY_OVERRIDE, "cloud": REGISTRY_OVERRIDE},
                },
                "remoteRegistries": {
                    "type": "object",
                    "properties": {
                        "pypi": {
                            "type": "object",
                            "required": ["enabled", "packageName"],
                            "properties": {
                                "enabled": {"type": "boolean"},
                                "packageName": {"type": "string"},
                            },
                        }
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def metadata() -> dict:
    # yaml.safe_load keeps `dockerImageTag: 0.1.0` a string; a tag such as `1.0` would become a
    # float, which the schema's string type then rejects (as Airbyte's validator does).
    return yaml.safe_load(METADATA.read_text())


@pytest.fixture(scope="module")
def data(metadata: dict) -> dict:
    return metadata["data"]


def dockerfile_default_base() -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match, "Dockerfile must declare `ARG BASE_IMAGE=<default>`"
    return match.group(1)


def test_metadata_matches_airbyte_schema(metadata: dict) -> None:
    validator = jsonschema.Draft7Validator(
        METADATA_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(metadata), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_schema_rejects_broken_metadata(metadata: dict) -> None:
    """The encoded schema really catches missing fields, wrong types and unknown keys."""
    validator = jsonschema.Draft7Validator(METADATA_SCHEMA)
    for broken in (
        {**metadata, "data": {k: v for k, v in metadata["data"].items() if k != "releaseStage"}},
        {**metadata, "data": {**metadata["data"], "connectorType": "sauce"}},
        {**metadata, "data": {**metadata["data"], "maxSecondsBetweenMessages": "7200"}},
        {**metadata, "data": {**metadata["data"], "dockerImagetag": "0.1.0"}},
        {"data": metadata["data"]},
    ):
        assert list(validator.iter_errors(broken)), broken


def test_required_values(data: dict) -> None:
    assert data["name"] == "HaloITSM"
    assert uuid.UUID(data["definitionId"]).version == 4
    assert data["connectorType"] == "source"
    assert data["connectorSubtype"] == "api"
    # A local name: no namespace the project does not own (a release takes the user's IMAGE).
    assert data["dockerRepository"] == "source-haloitsm"
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["dockerImageTag"])
    assert data["license"] == "MIT"
    assert data["githubIssueLabel"] == "source-haloitsm"
    assert data["releaseStage"] == "alpha"
    assert data["supportLevel"] == "community"
    assert set(data["tags"]) >= {"language:python", "cdk:python"}


def test_base_image_pinned_by_digest_and_equal_to_dockerfile_default(data: dict) -> None:
    base = data["connectorBuildOptions"]["baseImage"]
    assert BASE_IMAGE_RE.match(base), base
    assert dockerfile_default_base() == base


def test_dockerfile_conventions(data: dict) -> None:
    text = DOCKERFILE.read_text()
    assert "FROM ${BASE_IMAGE}" in text
    assert re.search(r"^USER airbyte\s*$", text, re.MULTILINE), "the image must run as `airbyte`"
    assert 'ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"' in text
    assert 'ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]' in text
    assert f"LABEL io.airbyte.version={data['dockerImageTag']}" in text
    assert f"ARG AIRBYTE_IMAGE_NAME={data['dockerRepository']}" in text
    assert "LABEL io.airbyte.name=${AIRBYTE_IMAGE_NAME}" in text
    # A `# syntax=` line would make BuildKit fetch a frontend image from a registry.
    assert not re.search(r"^#\s*syntax=", text, re.MULTILINE | re.IGNORECASE)
    assert (ROOT / "main.py").is_file()


def test_image_tag_matches_package_version(data: dict) -> None:
    # (a regex rather than tomllib, which Python 3.10 lacks)
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "pyproject.toml has no static version"
    version = match.group(1)
    assert data["dockerImageTag"] == version


def test_documentation_url_matches_spec(data: dict) -> None:
    spec = json.loads((ROOT / "source_haloitsm" / "spec.json").read_text())
    assert data["documentationUrl"] == spec["documentationUrl"]


def test_allowed_hosts_reference_config(data: dict) -> None:
    hosts = data["allowedHosts"]["hosts"]
    assert hosts == ["${base_url}"]
    spec = json.loads((ROOT / "source_haloitsm" / "spec.json").read_text())
    assert "base_url" in spec["connectionSpecification"]["properties"]


def test_max_seconds_between_messages_above_the_longest_wait(data: dict) -> None:
    from source_haloitsm.waits import MAX_WAIT_SECONDS

    # The connector never waits longer than MAX_WAIT_SECONDS in one go (a longer Retry-After ends the
    # sync as transient), plus the CDK's extra second and a full rate-budget window.
    assert isinstance(data["maxSecondsBetweenMessages"], int)
    assert data["maxSecondsBetweenMessages"] > MAX_WAIT_SECONDS + 1 + 60


def test_icon_is_a_clean_svg(data: dict) -> None:
    icon = ROOT / data["icon"]
    root = ET.parse(icon).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
    assert icon.stat().st_size < 10_000
    assert not any(el.tag.endswith("script") for el in root.iter())


def test_cdk_reads_the_metadata() -> None:
    """The CDK's own model (used by its image tests) accepts the file."""
    from airbyte_cdk.models.connector_metadata import ConnectorLanguage, MetadataFile

    parsed = MetadataFile.from_file(METADATA)
    assert parsed.data.language == ConnectorLanguage.PYTHON
    assert parsed.data.connectorBuildOptions.baseImage == dockerfile_default_base()
