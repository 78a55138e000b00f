"""The ``anygram`` command line: ``anygram index``, ``count``, ``ntd``, ``search``, ``demo`` ...

The entry point is :func:`anygram.cli.main.main`. This is the only place in anygram that prints
or exits; the library raises the exceptions of :mod:`anygram.errors`, which the CLI turns into a
one-line message and their ``exit_code``.
"""
