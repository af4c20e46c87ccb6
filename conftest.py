"""pytest setup for every run in this repository, notebooks included.

``tests._nbval_state`` adds, after the last cell of each lesson that nbval runs, a check that the
learner's explorer shows the state its text describes (notebooks/CONTRIBUTING.md).
``tests._memory_maps`` keeps a test worker under Linux's cap on memory mappings: between test
files, it drops JAX's compiled programs once the worker holds half the cap.
"""

pytest_plugins = ["tests._nbval_state", "tests._memory_maps"]
