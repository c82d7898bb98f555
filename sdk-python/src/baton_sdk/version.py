"""The SDK's version and the toolchain string ``describe()`` reports.

The componentize-py version is only known when a component is built: the
build (``baton_sdk.build``) writes a module ``baton_build_info`` beside the
staged sources. It is read when this module is imported, which inside
componentize-py happens at build time (a component cannot import later).
Natively (pytest) there is none, and the toolchain says ``native``.
"""

SDK_VERSION = "0.1.0"


def _componentize_py_version() -> str | None:
    try:
        import baton_build_info  # written by baton_sdk.build, never in the source tree
    except ImportError:
        return None
    return str(baton_build_info.COMPONENTIZE_PY_VERSION)


COMPONENTIZE_PY_VERSION = _componentize_py_version()


def toolchain() -> str:
    """E.g. ``baton-sdk-python 0.1.0 (componentize-py 0.25.1)``."""
    built = f"componentize-py {COMPONENTIZE_PY_VERSION}" if COMPONENTIZE_PY_VERSION else "native"
    return f"baton-sdk-python {SDK_VERSION} ({built})"
