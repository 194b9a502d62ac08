"""Loading the CDK cheaper, for the connector's own process only (run.py calls `prepare` before the CDK
is imported; code that imports the CDK itself, such as the standard tests or PyAirbyte's own process,
is not touched).

Every command (spec, check, discover, read) pays for loading airbyte-cdk 7.39.1 before it does any work:
about 1.3 s of CPU on this project's machines (`python -X importtime -c "import
source_haloitsm.entrypoint"`), a quarter of a whole read of 50,000 tickets (benchmarks/throughput.py).
Two parts of it do nothing for this connector, and are skipped here; `python -m benchmarks.startup`
prints the CPU of `spec` with and without each: 1.34 s as the CDK is, 0.47 s with both.

1. **Attribute docs of the protocol models** (about 0.4 s). airbyte_cdk.models builds serpyco_rs
   serializers for the Airbyte protocol when it loads, and serpyco_rs reads each model's source code
   with `inspect`/`ast` to find attribute docstrings, used only as `description`s in the JSON schema a
   serializer can print. The connector never asks for that schema; serialisation does not read the
   docs. `get_attributes_doc` is replaced by a function returning no docs, in the two serpyco_rs
   modules that call it. unit_tests/test_startup.py checks that messages serialise identically.
2. **The CDK package's `__init__`** (about 0.4 s). `airbyte_cdk/__init__.py` imports the CDK's public
   names, declarative (low-code) framework and destinations included, whatever submodule is imported.
   The package is registered first as an empty module over the same directory, so importing
   `airbyte_cdk.entrypoint` loads only what the entry point and the connector use. The first time code
   asks the package for a name it does not have yet (`from airbyte_cdk import X`, as a few CDK
   modules do), the real `__init__` runs in it (PEP 562 `__getattr__`) and the name is there: nothing
   is missing, it is only loaded when needed.

If either hook is not where this CDK version has it (another serpyco_rs or CDK), that part is left
as it is: start-up is slower, nothing else changes.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any, Dict


def _no_docs(_cls: Any) -> Dict[str, str]:
    return {}


def skip_attribute_docs() -> bool:
    """Part 1. True when serpyco_rs has the hooks (and the docs are skipped)."""
    try:
        import serpyco_rs._describe as describe
        import serpyco_rs._json_schema._convert as convert
    except ImportError:
        return False
    if not (hasattr(describe, "get_attributes_doc") and hasattr(convert, "get_attributes_doc")):
        return False
    describe.get_attributes_doc = _no_docs
    convert.get_attributes_doc = _no_docs
    return True


class _LazyPackage(types.ModuleType):
    """airbyte_cdk before its `__init__` ran: submodules import as usual; any other name runs it."""

    def __getattr__(self, name: str) -> Any:
        missing = AttributeError(f"module 'airbyte_cdk' has no attribute {name!r}")
        if name.startswith("__") or self.__dict__.get("_haloitsm_initialised"):
            raise missing
        submodule = sys.modules.get(f"airbyte_cdk.{name}")
        if submodule is not None:  # a submodule still loading (`import airbyte_cdk.a.b as c` inside it)
            return submodule
        self.__dict__["_haloitsm_initialised"] = True
        self.__spec__.loader.exec_module(self)  # the real airbyte_cdk/__init__.py, in this module
        if name not in self.__dict__:
            raise missing
        return self.__dict__[name]


def defer_cdk_init() -> bool:
    """Part 2. True when airbyte_cdk was registered lazily."""
    if "airbyte_cdk" in sys.modules:
        return False
    spec = importlib.util.find_spec("airbyte_cdk")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return False
    package = _LazyPackage("airbyte_cdk")
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = "airbyte_cdk"
    package.__loader__ = spec.loader
    sys.modules["airbyte_cdk"] = package
    return True


def prepare() -> None:
    skip_attribute_docs()
    defer_cdk_init()
