"""The type stub ships and agrees with the module: the same functions, parameters, defaults
and docstrings; py.typed is installed."""

import ast
import inspect
import pathlib

import framemix

PKG = pathlib.Path(framemix.__file__).parent
STUB = PKG / "__init__.pyi"


def stub_functions():
    tree = ast.parse(STUB.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_stub_and_py_typed_ship():
    assert STUB.is_file() and (PKG / "py.typed").is_file()


def test_stub_has_every_function_with_its_docstring():
    funcs = stub_functions()
    assert set(funcs) == {"mix", "info"}
    for name, node in funcs.items():
        runtime = getattr(framemix, name)
        assert ast.get_docstring(node) == inspect.cleandoc(runtime.__doc__), name


def test_stub_signatures_match_the_module():
    for name, node in stub_functions().items():
        sig = inspect.signature(getattr(framemix, name))
        a = node.args
        assert [p.arg for p in a.args] == ["path"]
        assert [p.name for p in sig.parameters.values()] == ["path"] + [p.arg for p in a.kwonlyargs]
        for p, default in zip(a.kwonlyargs, a.kw_defaults):
            assert sig.parameters[p.arg].kind is inspect.Parameter.KEYWORD_ONLY
            assert sig.parameters[p.arg].default == ast.literal_eval(default), p.arg


def test_public_names_have_docstrings():
    for name in framemix.__all__:
        obj = getattr(framemix, name)
        if callable(obj):
            assert obj.__doc__, name
