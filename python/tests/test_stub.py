"""The type stub ships and agrees with the module: the same functions, classes, parameters,
defaults and docstrings; py.typed is installed."""

import ast
import inspect
import pathlib

import framemix

PKG = pathlib.Path(framemix.__file__).parent
STUB = PKG / "__init__.pyi"

#: Slot methods, whose runtime docstrings are Python's own ("Return len(self)."): the stub
#: documents them.
SLOTS = {"__len__", "__getitem__", "__iter__", "__next__", "__init__"}


def stub_tree():
    return ast.parse(STUB.read_text())


def stub_functions():
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.FunctionDef)}


def stub_classes():
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}


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


def test_stub_has_every_class_member_with_its_docstring():
    classes = stub_classes()
    assert set(classes) == {"VideoDataset", "Loader", "LoaderIter"}
    for name, node in classes.items():
        cls = getattr(framemix, name)
        assert ast.get_docstring(node) == inspect.cleandoc(cls.__doc__), name
        members = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        public = {m for m in dir(cls) if not m.startswith("_")}
        assert public <= set(members), f"{name}: not in the stub: {public - set(members)}"
        for m, fn in members.items():
            assert hasattr(cls, m), f"{name}.{m} is in the stub only"
            doc = ast.get_docstring(fn)
            if m == "__init__":
                continue
            assert doc, f"{name}.{m} has no docstring in the stub"
            if m not in SLOTS:
                assert doc == inspect.cleandoc(getattr(cls, m).__doc__), f"{name}.{m}"


def test_stub_constructors_match_the_module():
    for name in ("VideoDataset", "Loader"):
        init = next(n for n in stub_classes()[name].body
                    if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        sig = inspect.signature(getattr(framemix, name))
        a = init.args
        stub = [p.arg for p in a.args[1:]] + [p.arg for p in a.kwonlyargs]
        assert [p.name for p in sig.parameters.values()] == stub, name
        defaults = dict(zip([p.arg for p in a.args[1:]][-len(a.defaults):], a.defaults)) \
            if a.defaults else {}
        defaults.update({p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
        for p, default in defaults.items():
            assert sig.parameters[p].default == ast.literal_eval(default), f"{name}({p})"
        for p in a.kwonlyargs:
            assert sig.parameters[p.arg].kind is inspect.Parameter.KEYWORD_ONLY, f"{name}({p.arg})"


def test_public_names_have_docstrings():
    for name in framemix.__all__:
        obj = getattr(framemix, name)
        if callable(obj):
            assert obj.__doc__, name
