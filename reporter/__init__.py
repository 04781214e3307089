"""jwst-provenance: the processing provenance of a JWST dataset, for papers and referees.

The library does the work; the ``jwst-provenance`` command is a thin shell over it.

>>> import reporter
>>> inventory = reporter.scan(["examples/data"])   # doctest: +SKIP
>>> inventory.counts("CRDS_CTX")                    # doctest: +SKIP
Counter({'jwst_1241.pmap': 11, 'jwst_1183.pmap': 5, 'jwst_1225.pmap': 5, None: 1})
>>> inventory.write("inventory.ecsv")               # doctest: +SKIP
"""

__version__ = "0.1.0"

__all__ = [
    "Finding",
    "Inventory",
    "InventoryError",
    "NoFilesFound",
    "OutputError",
    "OutputExists",
    "ProvenanceRecord",
    "ReporterError",
    "UsageError",
    "__version__",
    "check",
    "load_knowledge",
    "read_record",
    "scan",
]

# Imported on first use, so that `jwst-provenance --help` and the scan's worker
# processes start without loading what they do not need.
_LAZY = {
    "Inventory": "inventory",
    "ProvenanceRecord": "records",
    "read_record": "scanner",
    "scan": "scanner",
    "check": "checks",
    "Finding": "checks",
    "load_knowledge": "knowledge",
    "InventoryError": "errors",
    "NoFilesFound": "errors",
    "OutputError": "errors",
    "OutputExists": "errors",
    "ReporterError": "errors",
    "UsageError": "errors",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reporter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"reporter.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
